"""One record per trial design: everything gaia-stim knows about a design, in one place.

A :class:`Design` says how the design's trials are built (its conditions), what its data files
hold (the columns the fit reads, the coded response last), how a covert-labelling observer answers
(its response probability, shared by the fit and the simulated data it is tested against), how its
fit is drawn, and which script in ``protocols/`` runs it. :data:`DESIGNS` is the registry that
``gaia-stim trials``, ``gaia-stim analyze``, the reports and the tests read: a new design is one
record here plus its protocol script.

Conditions, each balanced within every block:

- identification: every stimulus once (method of constant stimuli). Over a set with two level
  columns (a grid's ``u`` and ``v``) each condition carries both levels under their own names and a
  ``level_columns`` column naming them, instead of ``morph_level``.
- 2afc: for each separation d, every pair (i, i + d), once with the lower morph level on the left
  and once on the right. The correct answer is the side nearer endpoint A (the lower level).
- abx: for each pair (i, i + d), both orders of A and B, each with X = A and X = B (4 trials).
- same-different: for each pair (i, i + d), the different pairs (i, i + d) and (i + d, i) and the
  same pairs (i, i) and (i + d, i + d), so half the trials are "same" and each pair shows its two
  images equally often.

- mlds-triads, mlds-quadruples (maximum likelihood difference scaling): two pairs of images, "which
  pair differs more?"; their blocks are built by :func:`gaia_stim.designs.mlds_trials.mlds_trials`
  (the record's ``trials``: balanced presentation orders, no triad twice in a row) and their data
  are fitted by ``gaia-stim scale``, not ``analyze``. Their observer is a perceptual scale psi with
  decision noise sigma: P(second pair) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma)
  (:func:`gaia_stim.analysis.mlds_model.observer_probability`), the record's ``scale_probability``.

The designs that pair images build their conditions from a list of pairs (``pair_conditions``), so
:func:`gaia_stim.designs.design_trials` can add pairs that even out how often each image is shown.

The observer model (covert labelling, Liberman et al. 1957; Pollack & Pisoni 1971). The
psychometric function F(x) is the probability of labelling morph level x as endpoint B:

- ``logistic``: F(x) = 1 / (1 + exp(-4 slope (x - pse)))
- ``normal``:   F(x) = Phi(sqrt(2 pi) slope (x - pse))

so in both families ``pse`` is where F = 0.5 and ``slope`` is dF/dx there. The observer labels
every image shown, independently, with probability F, and answers from the labels, guessing when
they do not decide:

- identification: "B" with F(x).
- 2afc ("which is more like A"): correct (the lower level chosen) with 1/2 + (F(hi) - F(lo)) / 2.
- abx: with p_c = F(level of X's source), p_o = F(the other):
  p_c^2 (1 - p_o) + (1 - p_c)^2 p_o + (p_c p_o + (1 - p_c)(1 - p_o)) / 2.
- same-different: "different" with F(x1)(1 - F(x2)) + F(x2)(1 - F(x1)).

So every design estimates the same pse and slope, and discrimination peaks at the category
boundary. A lapse rate is added by :func:`gaia_stim.analysis.psychometric.response_probability`.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = ["SIGMOIDS", "Design", "DESIGNS", "get_design", "label_probability"]

SIGMOIDS = ("logistic", "normal")


def label_probability(x, pse, slope, sigmoid="logistic"):
    """F(x): the probability that morph level ``x`` is labelled endpoint B.

    Parameters
    ----------
    x : float or array
        Morph levels.
    pse, slope : float
        Where F = 0.5, and dF/dx there.
    sigmoid : {"logistic", "normal"}, default="logistic"

    Returns
    -------
    ndarray of the shape of ``x``
    """
    # scipy only when probabilities are computed: writing trial lists never needs it.
    from scipy import special

    x = np.asarray(x, dtype=np.float64)
    if sigmoid == "logistic":
        return special.expit(4.0 * slope * (x - pse))
    if sigmoid == "normal":
        return special.ndtr(math.sqrt(2.0 * math.pi) * slope * (x - pse))
    raise InputError(f"sigmoid must be one of {', '.join(SIGMOIDS)}; got {sigmoid!r}")


@dataclass(frozen=True, kw_only=True)
class Design:
    """A trial design: its trials, its data columns, its observer model, its plot and its protocol.

    Parameters
    ----------
    name : str
        As ``gaia-stim trials --design`` takes it and as the trial lists' ``design`` column holds it.
    description : str
        One line: what a trial shows and what the participant answers.
    conditions : callable
        ``conditions(stimuli, separations) -> list of dict``: one dict per condition of a block,
        without the ``design`` column (added by :func:`gaia_stim.designs.design_trials`).
        ``stimuli`` are dicts with ``image_file``, ``step`` and ``morph_level``, sorted by level;
        ``separations`` are checked, sorted step separations (empty unless ``takes_separations``).
    takes_separations : bool
        Whether the design pairs images ``--separation`` steps apart.
    columns : tuple of str
        The data columns the fit reads: the morph-level columns, then the coded response (0 or 1).
    from_labels : callable
        ``from_labels(F, levels) -> P``: the probability of response 1 of a lapse-free observer,
        from ``F`` (the label probability of every level, shape ``(n_trials, n_level_columns)``)
        and the levels themselves (to tell, e.g., which image is the lower).
    y_label, x_label : str
        Axis labels of the fit's plot; observed points are drawn at the mean of the level columns.
    curve_groups : callable or None, default=None
        ``curve_groups(conditions) -> keys``: one fitted line per key through the distinct
        conditions (e.g. X=A vs X=B); None draws one smooth curve over the morph level (for
        designs with one level column).
    protocol : str
        File name of the Coder script in ``protocols/`` that runs the design.
    builder_protocol : str or None, default=None
        File name of a Builder experiment in ``protocols/``, if there is one.
    pair_conditions : callable or None, default=None
        ``pair_conditions(stimuli, pairs) -> list of dict``: the conditions of the given pairs
        ``(low, high, separation)`` (indices into ``stimuli``), for designs that pair images;
        ``conditions`` is then this over every pair of ``separations``. Lets
        ``design_trials(..., balance_images=True)`` add pairs.
    psignifit : bool, default=False
        Whether psignifit can fit the data (the response is the label itself, P = F).
    trials : callable or None, default=None
        ``trials(stimuli, reps, rng, no_repeats=True, n_conditions=None) -> rows``: a design that
        orders its own blocks (with ``block``, ``trial`` and ``design`` in every row), used by
        :func:`gaia_stim.designs.design_trials` instead of the shuffle of ``conditions`` that keeps
        consecutive trials' images apart (MLDS: its balanced presentation orders and no-repeat rule).
    scale_probability : callable or None, default=None
        ``scale_probability(levels, scale, sigma) -> P``: for a design fitted by ``gaia-stim scale``
        (a perceptual scale, MLDS) rather than by ``gaia-stim analyze``, the probability of response 1
        of an observer with perceptual scale ``scale`` (a callable of the level) and decision noise
        ``sigma``. Such a design has no ``from_labels`` and ``analyze`` refuses its data.
    """

    name: str
    description: str
    conditions: Callable
    takes_separations: bool
    columns: tuple
    from_labels: Optional[Callable] = None
    y_label: str
    x_label: str = "mean morph level of the images"
    curve_groups: Optional[Callable] = None
    protocol: str
    builder_protocol: Optional[str] = None
    psignifit: bool = False
    pair_conditions: Optional[Callable] = None
    trials: Optional[Callable] = None
    scale_probability: Optional[Callable] = None

    def __post_init__(self):
        # Mistakes in a record are a programmer's, found when the registry is imported.
        if len(self.columns) < 2:
            raise ValueError(f"design {self.name!r}: columns needs at least one level column and the response")
        if (self.from_labels is None) == (self.scale_probability is None):
            raise ValueError(f"design {self.name!r} needs one observer model: from_labels or scale_probability")
        if self.from_labels is not None and self.curve_groups is None and len(self.columns) > 2:
            raise ValueError(f"design {self.name!r} has several level columns, so it needs curve_groups")

    @property
    def level_columns(self):
        """The morph-level columns (all of ``columns`` but the response)."""
        return self.columns[:-1]

    @property
    def response_column(self):
        """The coded response (1 or 0) the fit models."""
        return self.columns[-1]

    def response_probability(self, levels, pse, slope, sigmoid="logistic"):
        """P(response = 1) of a lapse-free covert-labelling observer.

        Parameters
        ----------
        levels : array of shape (n_trials, len(level_columns)), or (n_trials,) for one column
        pse, slope : float
        sigmoid : {"logistic", "normal"}, default="logistic"

        Returns
        -------
        ndarray of shape (n_trials,)
        """
        if self.from_labels is None:
            raise InputError(f"the {self.name} design measures a perceptual scale, not a psychometric function:"
                             " fit its data with gaia-stim scale")
        levels = np.asarray(levels, dtype=np.float64)
        if levels.ndim == 1:
            levels = levels[:, None]
        return self.from_labels(label_probability(levels, pse, slope, sigmoid), levels)


def _pairs(stimuli, separations):
    return [(low, low + d, d) for d in separations for low in range(len(stimuli) - d)]


def _over_separations(pair_conditions):
    """``conditions(stimuli, separations)`` of a design built pair by pair."""

    def conditions(stimuli, separations):
        return pair_conditions(stimuli, _pairs(stimuli, separations))

    return conditions


def _signed_separation(conditions):
    # Pairs in one order lie on one line, the reversed order on another.
    return np.round(conditions[:, 1] - conditions[:, 0], 9)


# identification ---------------------------------------------------------------------------------

def _identification_condition(stimulus):
    if "levels" in stimulus:
        # Several level columns (a grid): each level under its own name, and which they are.
        return {"image_file": stimulus["image_file"], "step": stimulus["step"], **stimulus["levels"],
                "level_columns": " ".join(stimulus["levels"])}
    return {"image_file": stimulus["image_file"], "step": stimulus["step"], "morph_level": stimulus["morph_level"]}


def _identification_conditions(stimuli, separations):
    return [_identification_condition(stimulus) for stimulus in stimuli]


def _identification_from_labels(F, levels):
    return F[:, 0]


# 2afc -------------------------------------------------------------------------------------------

def _two_afc_pair_conditions(stimuli, pairs):
    conditions = []
    for low, high, separation in pairs:
        for left, right in ((low, high), (high, low)):
            conditions.append({
                "image_left": stimuli[left]["image_file"],
                "image_right": stimuli[right]["image_file"],
                "step_left": stimuli[left]["step"],
                "step_right": stimuli[right]["step"],
                "morph_left": stimuli[left]["morph_level"],
                "morph_right": stimuli[right]["morph_level"],
                "separation": separation,
                "correct_side": "left" if left == low else "right",
            })
    return conditions


def _two_afc_from_labels(F, levels):
    low_is_left = levels[:, 0] <= levels[:, 1]
    low = np.where(low_is_left, F[:, 0], F[:, 1])
    high = np.where(low_is_left, F[:, 1], F[:, 0])
    return 0.5 + 0.5 * (high - low)


# abx --------------------------------------------------------------------------------------------

def _abx_pair_conditions(stimuli, pairs):
    conditions = []
    for low, high, separation in pairs:
        for first, second in ((low, high), (high, low)):
            for answer, x in (("A", first), ("B", second)):
                conditions.append({
                    "image_a": stimuli[first]["image_file"],
                    "image_b": stimuli[second]["image_file"],
                    "image_x": stimuli[x]["image_file"],
                    "morph_a": stimuli[first]["morph_level"],
                    "morph_b": stimuli[second]["morph_level"],
                    "morph_x": stimuli[x]["morph_level"],
                    "separation": separation,
                    "correct_answer": answer,
                })
    return conditions


def _abx_from_labels(F, levels):
    x_is_a = np.isclose(levels[:, 2], levels[:, 0])
    p_c = np.where(x_is_a, F[:, 0], F[:, 1])  # X's source
    p_o = np.where(x_is_a, F[:, 1], F[:, 0])  # the other
    return p_c**2 * (1 - p_o) + (1 - p_c) ** 2 * p_o + 0.5 * (p_c * p_o + (1 - p_c) * (1 - p_o))


def _abx_curve_groups(conditions):
    return _signed_separation(conditions) + 10 * np.isclose(conditions[:, 2], conditions[:, 0])


# same-different ---------------------------------------------------------------------------------

def _same_different_pair_conditions(stimuli, pairs):
    conditions = []
    for low, high, separation in pairs:
        for first, second in ((low, high), (high, low), (low, low), (high, high)):
            same = first == second
            conditions.append({
                "image_1": stimuli[first]["image_file"],
                "image_2": stimuli[second]["image_file"],
                "morph_1": stimuli[first]["morph_level"],
                "morph_2": stimuli[second]["morph_level"],
                "separation": 0 if same else separation,
                "pair_separation": separation,
                "correct_answer": "same" if same else "different",
            })
    return conditions


def _same_different_from_labels(F, levels):
    return F[:, 0] * (1 - F[:, 1]) + F[:, 1] * (1 - F[:, 0])


# mlds-triads, mlds-quadruples (gaia_stim.designs.mlds_trials; fitted by gaia-stim scale) -------------

def _mlds_trials(design):
    def trials(stimuli, reps, rng, no_repeats=True, n_conditions=None, yes=False):
        from gaia_stim.core.limits import check_work
        from gaia_stim.designs.mlds_trials import TUPLE_SIZE, mlds_trials

        per_block = math.comb(len(stimuli), TUPLE_SIZE[design]) if n_conditions is None else n_conditions
        if isinstance(reps, int) and isinstance(per_block, int):
            check_work("trials", reps * per_block, yes, f"--reps {reps:,} x {per_block:,} {design[5:]}",
                       "lower --reps or choose --n-conditions")
        return mlds_trials(stimuli, design, reps, rng, n_conditions=n_conditions, no_repeats=no_repeats)

    return trials


def _mlds_conditions(design):
    def conditions(stimuli, separations):
        from gaia_stim.designs import mlds_trials

        return (mlds_trials.triad_conditions if design == "mlds-triads" else mlds_trials.quadruple_conditions)(
            stimuli, separations)

    return conditions


def _mlds_probability(levels, scale, sigma):
    """P(second pair judged more different) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma)."""
    from gaia_stim.analysis.mlds_model import observer_probability

    return observer_probability(levels, scale, sigma)


def _mlds_design(name, size, description, protocol):
    return Design(
        name=name,
        description=description,
        conditions=_mlds_conditions(name),
        trials=_mlds_trials(name),
        takes_separations=False,
        columns=(*(f"morph_{k}" for k in range(1, size + 1)), "chose_second_pair"),
        scale_probability=_mlds_probability,
        y_label="proportion 'second pair differs more'",
        protocol=protocol,
        builder_protocol=protocol.replace(".py", ".psyexp"),
    )


DESIGNS = {
    design.name: design
    for design in (
        Design(
            name="identification",
            description="one image per trial: is it more like endpoint A or B? (method of constant stimuli)",
            conditions=_identification_conditions,
            takes_separations=False,
            columns=("morph_level", "chose_b"),
            from_labels=_identification_from_labels,
            y_label="proportion 'B'",
            x_label="morph level",
            protocol="identification.py",
            builder_protocol="identification.psyexp",
            psignifit=True,
        ),
        Design(
            name="2afc",
            description="two images side by side: which is more like endpoint A?",
            conditions=_over_separations(_two_afc_pair_conditions),
            pair_conditions=_two_afc_pair_conditions,
            takes_separations=True,
            columns=("morph_left", "morph_right", "correct"),
            from_labels=_two_afc_from_labels,
            y_label="proportion correct",
            curve_groups=_signed_separation,
            protocol="2afc.py",
            builder_protocol="2afc.psyexp",
        ),
        Design(
            name="abx",
            description="images A, B, then X: is X the same as A or as B?",
            conditions=_over_separations(_abx_pair_conditions),
            pair_conditions=_abx_pair_conditions,
            takes_separations=True,
            columns=("morph_a", "morph_b", "morph_x", "correct"),
            from_labels=_abx_from_labels,
            y_label="proportion correct",
            curve_groups=_abx_curve_groups,
            protocol="abx.py",
            builder_protocol="abx.psyexp",
        ),
        Design(
            name="same-different",
            description="two images one after the other: were they the same image?",
            conditions=_over_separations(_same_different_pair_conditions),
            pair_conditions=_same_different_pair_conditions,
            takes_separations=True,
            columns=("morph_1", "morph_2", "said_different"),
            from_labels=_same_different_from_labels,
            y_label="proportion 'different'",
            curve_groups=_signed_separation,
            protocol="same_different.py",
            builder_protocol="same_different.psyexp",
        ),
        _mlds_design("mlds-triads", 3, "three images a, b, c in a row: which pair differs more, (a, b) or (b, c)?"
                     " (MLDS; fitted by gaia-stim scale)", "mlds_triads.py"),
        _mlds_design("mlds-quadruples", 4, "two pairs of images side by side: which pair differs more?"
                     " (MLDS; fitted by gaia-stim scale)", "mlds_quadruples.py"),
    )
}


def get_design(name):
    """The record of the design called ``name``.

    Raises
    ------
    InputError
        If no design of that name is registered; the message lists those that are.
    """
    try:
        return DESIGNS[name]
    except (KeyError, TypeError):
        raise InputError(f"design must be one of {', '.join(DESIGNS)}; got {name!r}") from None
