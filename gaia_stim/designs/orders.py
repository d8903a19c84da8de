"""Trial designs along a continuum: pure functions from stimuli to pre-randomised trial rows.

Each design takes the stimuli of a continuum (dicts with ``image_file``, ``step`` and
``morph_level``, sorted by morph level) and returns one dict per trial. A block holds every
condition of the design once, in an order drawn from ``rng``; ``reps`` blocks follow one another.
With ``no_repeats=True`` no trial is the same condition as the one before it (which, within a
block, can only happen at the boundary with the previous block).

Conditions, each balanced within every block:

- identification: every stimulus once (method of constant stimuli).
- 2afc: for each separation d, every pair (i, i + d), once with the lower morph level on the left
  and once on the right. The correct answer is the side nearer endpoint A (the lower level).
- abx: for each pair (i, i + d), both orders of A and B, each with X = A and X = B (4 trials).
- same-different: for each pair (i, i + d), the different pairs (i, i + d) and (i + d, i) and the
  same pairs (i, i) and (i + d, i + d), so half the trials are "same" and every image is shown
  equally often.
"""

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = ["DESIGNS", "design_trials"]

DESIGNS = ("identification", "2afc", "abx", "same-different")


def _check_separations(stimuli, separations, design):
    if design == "identification":
        if separations:
            raise InputError("--separation does not apply to the identification design; leave it out")
        return []
    if not separations:
        raise InputError(f"the {design} design needs at least one step separation (e.g. --separation 2)")
    n_steps = len(stimuli)
    checked = []
    for separation in separations:
        if isinstance(separation, (bool, np.bool_)) or int(separation) != separation:
            raise InputError(f"separation {separation!r} is not a whole number of steps")
        separation = int(separation)
        if not 1 <= separation <= n_steps - 1:
            raise InputError(
                f"separation {separation} is outside 1..{n_steps - 1}, the step distances of a"
                f" {n_steps}-image continuum"
            )
        if separation not in checked:
            checked.append(separation)
    return sorted(checked)


def _pairs(stimuli, separations):
    return [(low, low + d, d) for d in separations for low in range(len(stimuli) - d)]


def _identification_conditions(stimuli, separations):
    return [
        {
            "design": "identification",
            "image_file": s["image_file"],
            "step": s["step"],
            "morph_level": s["morph_level"],
        }
        for s in stimuli
    ]


def _two_afc_conditions(stimuli, separations):
    conditions = []
    for low, high, separation in _pairs(stimuli, separations):
        for left, right in ((low, high), (high, low)):
            conditions.append(
                {
                    "design": "2afc",
                    "image_left": stimuli[left]["image_file"],
                    "image_right": stimuli[right]["image_file"],
                    "step_left": stimuli[left]["step"],
                    "step_right": stimuli[right]["step"],
                    "morph_left": stimuli[left]["morph_level"],
                    "morph_right": stimuli[right]["morph_level"],
                    "separation": separation,
                    "correct_side": "left" if left == low else "right",
                }
            )
    return conditions


def _abx_conditions(stimuli, separations):
    conditions = []
    for low, high, separation in _pairs(stimuli, separations):
        for first, second in ((low, high), (high, low)):
            for answer, x in (("A", first), ("B", second)):
                conditions.append(
                    {
                        "design": "abx",
                        "image_a": stimuli[first]["image_file"],
                        "image_b": stimuli[second]["image_file"],
                        "image_x": stimuli[x]["image_file"],
                        "morph_a": stimuli[first]["morph_level"],
                        "morph_b": stimuli[second]["morph_level"],
                        "morph_x": stimuli[x]["morph_level"],
                        "separation": separation,
                        "correct_answer": answer,
                    }
                )
    return conditions


def _same_different_conditions(stimuli, separations):
    conditions = []
    for low, high, separation in _pairs(stimuli, separations):
        for first, second in ((low, high), (high, low), (low, low), (high, high)):
            same = first == second
            conditions.append(
                {
                    "design": "same-different",
                    "image_1": stimuli[first]["image_file"],
                    "image_2": stimuli[second]["image_file"],
                    "morph_1": stimuli[first]["morph_level"],
                    "morph_2": stimuli[second]["morph_level"],
                    "separation": 0 if same else separation,
                    "pair_separation": separation,
                    "correct_answer": "same" if same else "different",
                }
            )
    return conditions


_CONDITIONS = {
    "identification": _identification_conditions,
    "2afc": _two_afc_conditions,
    "abx": _abx_conditions,
    "same-different": _same_different_conditions,
}


def _block_order(n_conditions, previous, rng, no_repeats):
    """A random order of range(n_conditions) whose first item is not ``previous``."""
    order = rng.permutation(n_conditions)
    if no_repeats and previous is not None and n_conditions > 1 and order[0] == previous:
        # Swap the offending first trial with a uniformly chosen later one.
        other = 1 + int(rng.integers(n_conditions - 1))
        order[0], order[other] = order[other], order[0]
    return order


def design_trials(stimuli, design, reps, rng, separations=(), no_repeats=True):
    """Trial rows of one design, pre-randomised block by block.

    Parameters
    ----------
    stimuli : list of dict
        The continuum, sorted by ``morph_level``; each dict has ``image_file`` (str, as it should
        appear in the trial table), ``step`` (int) and ``morph_level`` (float).
    design : {"identification", "2afc", "abx", "same-different"}
    reps : int
        Number of blocks; every condition appears once per block.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same trials.
    separations : sequence of int, default=()
        Step separations of the pairs (not for identification).
    no_repeats : bool, default=True
        Never present the same condition on two consecutive trials.

    Returns
    -------
    list of dict
        One dict per trial, with ``block`` and ``trial`` (both from 1) first, then the condition.

    Raises
    ------
    InputError
        Unknown design, ``reps`` < 1, fewer than two stimuli, or a separation that does not fit.
    """
    if design not in _CONDITIONS:
        raise InputError(f"design must be one of {', '.join(DESIGNS)}; got {design!r}")
    if isinstance(reps, (bool, np.bool_)) or int(reps) != reps or reps < 1:
        raise InputError(f"reps must be a whole number >= 1; got {reps!r}")
    if len(stimuli) < 2:
        raise InputError(f"a continuum needs at least two images; got {len(stimuli)}")
    separations = _check_separations(stimuli, list(separations), design)
    conditions = _CONDITIONS[design](stimuli, separations)

    rows, previous = [], None
    for block in range(1, int(reps) + 1):
        order = _block_order(len(conditions), previous, rng, no_repeats)
        for index in order:
            rows.append({"block": block, "trial": len(rows) + 1, **conditions[index]})
        previous = order[-1]
    return rows
