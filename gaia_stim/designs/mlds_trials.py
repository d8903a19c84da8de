"""Trials for maximum likelihood difference scaling (MLDS): triads and quadruples of a continuum.

Every trial shows two pairs of images and asks which pair differs more (Maloney & Yang 2003;
Knoblauch & Maloney's R package MLDS):

- ``mlds-triads``: three stimuli a < b < c (in morph level); the pairs are (a, b) and (b, c).
  Shown as a, b, c (the lower pair first) or c, b, a (the upper pair first).
- ``mlds-quadruples``: four stimuli a < b < c < d; the pairs are (a, b) and (c, d), which do not
  overlap. Shown as a, b, c, d (the lower pair first) or c, d, a, b (the upper pair first).

These are the presentation orders of the R package's ``runTriadExperiment`` and
``runQuadExperiment``. In the trial rows the images are numbered in presentation order
(``image_1`` ... ``image_k``, with ``step_k`` and ``morph_k``); the first pair is images 1 and 2,
the second pair images 2 and 3 (triads) or 3 and 4 (quadruples), and ``first_pair`` says whether
the pair of lower morph levels (``"lower"``) or of higher ones (``"upper"``) comes first. The
response that the fit reads, ``chose_second_pair``, is 1 when the participant judged the second
pair more different and 0 for the first (:mod:`gaia_stim.analysis.mlds_model`).

A block holds every selected triad (or quadruple) once, shuffled; ``reps`` blocks follow one
another. Presentation orders are balanced: within a block, as many triads are shown lower pair
first as upper pair first (one more of one kind when their number is odd), and the next block
shows every triad in the other order, so two blocks show each triad both ways. No trial repeats
the triad of the trial before it: within a block every triad appears once, and the first trial of
a block is never the last triad of the block before.

:func:`triad_conditions` and :func:`quadruple_conditions` take ``(stimuli, separations)`` and
return one dict per condition without the ``design`` column, the signature of a
:class:`gaia_stim.designs.records.Design`'s ``conditions``: both presentation orders of every
triad (quadruple).
"""

import itertools

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = [
    "MLDS_DESIGNS", "RESPONSE_COLUMN", "TUPLE_SIZE", "MIN_STIMULI", "all_tuples", "balanced_subset",
    "presentation_order", "triad_conditions", "quadruple_conditions", "mlds_trials",
]

MLDS_DESIGNS = ("mlds-triads", "mlds-quadruples")
# 1: the second pair (images 2-3 of a triad, 3-4 of a quadruple) looked more different; 0: the first
RESPONSE_COLUMN = "chose_second_pair"
TUPLE_SIZE = {"mlds-triads": 3, "mlds-quadruples": 4}
# The fewest stimuli whose triads (quadruples) determine a scale: 4 stimuli give 4 triads for the
# 3 free scale values; 5 give 5 quadruples for 4 (fewer give 1 triad or quadruple, or none).
MIN_STIMULI = {"mlds-triads": 4, "mlds-quadruples": 5}


def _check_design(design):
    if design not in TUPLE_SIZE:
        raise InputError(f"MLDS design must be one of {', '.join(MLDS_DESIGNS)}; got {design!r}")
    return TUPLE_SIZE[design]


def _check_n_stimuli(n_stimuli, design):
    if n_stimuli < MIN_STIMULI[design]:
        raise InputError(
            f"{design} need at least {MIN_STIMULI[design]} stimuli to determine a scale; the continuum has"
            f" {n_stimuli}: make one with more steps (MLDS usually uses 7 to 15)"
        )


def all_tuples(n_stimuli, design):
    """Every triad (a < b < c) or quadruple (a < b < c < d) of stimulus indices ``0 .. n_stimuli - 1``.

    Parameters
    ----------
    n_stimuli : int
    design : {"mlds-triads", "mlds-quadruples"}

    Returns
    -------
    list of tuple of int
        C(n, 3) triads or C(n, 4) quadruples, in lexicographic order.
    """
    return list(itertools.combinations(range(int(n_stimuli)), _check_design(design)))


def balanced_subset(n_stimuli, design, n_conditions, rng):
    """``n_conditions`` distinct triads (quadruples) in which every stimulus appears as evenly as possible.

    Triads are added one at a time, each time one of those whose stimuli have appeared least so far
    (the sum of their counts is smallest; ties broken at random), then pairs of a chosen and an
    unchosen triad are swapped while that makes the counts more even (lowers the sum of squared
    counts). The result is sorted.

    Parameters
    ----------
    n_stimuli : int
    design : {"mlds-triads", "mlds-quadruples"}
    n_conditions : int
        From 1 to the number of all triads (quadruples).
    rng : numpy.random.Generator

    Returns
    -------
    list of tuple of int
    """
    candidates = np.array(all_tuples(n_stimuli, design), dtype=np.int64).reshape(-1, _check_design(design))
    total = len(candidates)
    whole = not isinstance(n_conditions, (bool, np.bool_)) and int(n_conditions) == n_conditions
    if not whole or not 1 <= n_conditions <= total:
        raise InputError(
            f"the number of {design[5:]} must be a whole number from 1 to {total} (all of them for"
            f" {n_stimuli} stimuli); got {n_conditions!r}"
        )
    n_conditions = int(n_conditions)
    candidates = candidates[rng.permutation(total)]  # random tie-breaking below
    counts = np.zeros(n_stimuli, dtype=np.int64)
    chosen = np.zeros(total, dtype=bool)
    for _ in range(n_conditions):
        load = counts[candidates].sum(axis=1)
        load[chosen] = np.iinfo(np.int64).max
        pick = int(np.argmin(load))
        chosen[pick] = True
        np.add.at(counts, candidates[pick], 1)
    # Local search: for each chosen triad, the unchosen one that would best replace it; swap when
    # that lowers the sum of squared counts (which is bounded below, so the loop ends).
    improved = True
    while improved and n_conditions < total:
        improved = False
        for inside in np.flatnonzero(chosen):
            base = np.sum(counts.astype(np.float64) ** 2)
            without = counts.copy()
            np.add.at(without, candidates[inside], -1)
            outside = np.flatnonzero(~chosen)
            trial = without[candidates[outside]].sum(axis=1)
            best = outside[int(np.argmin(trial))]
            after = without.copy()
            np.add.at(after, candidates[best], 1)
            if np.sum(after.astype(np.float64) ** 2) < base:
                chosen[inside], chosen[best] = False, True
                counts = after
                improved = True
    return sorted(tuple(int(i) for i in row) for row in candidates[chosen])


def presentation_order(stimulus_tuple, lower_first):
    """Stimulus indices in the order shown: the lower pair first, or the upper pair first.

    A triad (a, b, c) is shown as (a, b, c) or (c, b, a); a quadruple (a, b, c, d) as (a, b, c, d)
    or (c, d, a, b).
    """
    if lower_first:
        return tuple(stimulus_tuple)
    if len(stimulus_tuple) == 3:
        a, b, c = stimulus_tuple
        return (c, b, a)
    a, b, c, d = stimulus_tuple
    return (c, d, a, b)


def _condition(stimuli, stimulus_tuple, lower_first):
    shown = presentation_order(stimulus_tuple, lower_first)
    row = {}
    for position, index in enumerate(shown, start=1):
        row[f"image_{position}"] = stimuli[index]["image_file"]
    for position, index in enumerate(shown, start=1):
        row[f"step_{position}"] = stimuli[index]["step"]
    for position, index in enumerate(shown, start=1):
        row[f"morph_{position}"] = stimuli[index]["morph_level"]
    row["first_pair"] = "lower" if lower_first else "upper"
    return row


def _check_stimuli(stimuli, design):
    levels = [s["morph_level"] for s in stimuli]
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise InputError("the stimuli must be sorted by morph_level, each level once (as read_continuum gives them)")
    _check_n_stimuli(len(stimuli), design)


def _both_orders(stimuli, separations, design):
    if separations:
        raise InputError(f"--separation does not apply to the {design} design; leave it out")
    _check_stimuli(stimuli, design)
    return [
        _condition(stimuli, stimulus_tuple, lower_first)
        for stimulus_tuple in all_tuples(len(stimuli), design) for lower_first in (True, False)
    ]


def triad_conditions(stimuli, separations=()):
    """Both presentation orders of every triad: 2 C(n, 3) conditions (no ``design`` column).

    Parameters
    ----------
    stimuli : list of dict
        The continuum sorted by ``morph_level``: dicts with ``image_file``, ``step``, ``morph_level``.
    separations : sequence of int, default=()
        Must be empty (triads use every separation).

    Returns
    -------
    list of dict
        ``image_1..3``, ``step_1..3``, ``morph_1..3`` in presentation order, and ``first_pair``.
    """
    return _both_orders(stimuli, separations, "mlds-triads")


def quadruple_conditions(stimuli, separations=()):
    """Both presentation orders of every quadruple: 2 C(n, 4) conditions (no ``design`` column).

    See :func:`triad_conditions`; the rows have ``image_1..4``, ``step_1..4``, ``morph_1..4``.
    """
    return _both_orders(stimuli, separations, "mlds-quadruples")


def _balanced_orders(n_conditions, rng):
    """True (lower pair first) for a random half of ``n_conditions`` (the extra one at random if odd)."""
    lower_first = np.zeros(n_conditions, dtype=bool)
    lower_first[: n_conditions // 2 + int(n_conditions % 2 and rng.random() < 0.5)] = True
    return lower_first[rng.permutation(n_conditions)]


def mlds_trials(stimuli, design, reps, rng, n_conditions=None, no_repeats=True):
    """Trial rows of an MLDS experiment, pre-randomised block by block.

    Parameters
    ----------
    stimuli : list of dict
        The continuum, sorted by ``morph_level``; each dict has ``image_file`` (str, as it should
        appear in the trial table), ``step`` (int) and ``morph_level`` (float).
    design : {"mlds-triads", "mlds-quadruples"}
    reps : int
        Number of blocks; every selected triad (quadruple) appears once per block.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same trials.
    n_conditions : int or None, default=None
        None: every triad (C(n, 3)) or quadruple (C(n, 4)). A number: a random subset of that many
        in which every stimulus appears as evenly as possible (:func:`balanced_subset`), the same
        subset in every block.
    no_repeats : bool, default=True
        Never show the same triad (quadruple) on two consecutive trials, in either order.

    Returns
    -------
    list of dict
        One dict per trial: ``block`` and ``trial`` (both from 1), ``design``, ``image_1..k``,
        ``step_1..k``, ``morph_1..k`` (presentation order) and ``first_pair``.

    Raises
    ------
    InputError
        An unknown design, ``reps`` < 1, too few stimuli, an impossible ``n_conditions``, or a
        single condition repeated over blocks with ``no_repeats``.

    Examples
    --------
    >>> stimuli = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / 10} for i in range(11)]
    >>> rows = mlds_trials(stimuli, "mlds-triads", 2, np.random.default_rng(0))
    >>> len(rows)  # 2 blocks of C(11, 3) triads
    330
    """
    _check_design(design)
    if isinstance(reps, (bool, np.bool_)) or int(reps) != reps or reps < 1:
        raise InputError(f"reps must be a whole number >= 1; got {reps!r}")
    _check_stimuli(stimuli, design)
    if n_conditions is None:
        tuples = all_tuples(len(stimuli), design)
    else:
        tuples = balanced_subset(len(stimuli), design, n_conditions, rng)
    if no_repeats and len(tuples) == 1 and reps > 1:
        raise InputError(
            f"one {design[5:-1]} repeated over {reps} blocks would follow itself; choose more of them, or allow repeats"
        )
    rows, previous, lower_first = [], None, None
    for block in range(1, int(reps) + 1):
        # Blocks come in pairs: the second of a pair shows every triad in the other order.
        lower_first = _balanced_orders(len(tuples), rng) if block % 2 == 1 else ~lower_first
        order = rng.permutation(len(tuples))
        if no_repeats and previous is not None and len(tuples) > 1 and order[0] == previous:
            other = 1 + int(rng.integers(len(tuples) - 1))
            order[0], order[other] = order[other], order[0]
        for index in order:
            condition = _condition(stimuli, tuples[index], bool(lower_first[index]))
            rows.append({"block": block, "trial": len(rows) + 1, "design": design, **condition})
        previous = order[-1]
    return rows
