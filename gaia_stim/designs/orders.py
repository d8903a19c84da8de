"""Trial orders: pure functions from the stimuli of a continuum to pre-randomised trial rows.

Each design (a record in :mod:`gaia_stim.designs.records`) turns the stimuli of a continuum (dicts
with ``image_file``, ``step`` and ``morph_level``, sorted by morph level) into its conditions. A
block holds every condition of the design once, in an order drawn from ``rng``; ``reps`` blocks
follow one another. With ``no_repeats=True`` no trial is the same condition as the one before it
(which, within a block, can only happen at the boundary with the previous block).
"""

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.designs.records import DESIGNS, get_design

__all__ = ["DESIGNS", "design_trials"]


def _check_separations(stimuli, separations, record):
    design = record.name
    if not record.takes_separations:
        if separations:
            raise InputError(f"--separation does not apply to the {design} design; leave it out")
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
    design : str
        The name of a design in :data:`gaia_stim.designs.records.DESIGNS`.
    reps : int
        Number of blocks; every condition appears once per block.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same trials.
    separations : sequence of int, default=()
        Step separations of the pairs (only for designs that take separations).
    no_repeats : bool, default=True
        Never present the same condition on two consecutive trials.

    Returns
    -------
    list of dict
        One dict per trial: ``block`` and ``trial`` (both from 1), ``design``, then the condition.

    Raises
    ------
    InputError
        Unknown design, ``reps`` < 1, fewer than two stimuli, or a separation that does not fit.
    """
    record = get_design(design)
    if isinstance(reps, (bool, np.bool_)) or int(reps) != reps or reps < 1:
        raise InputError(f"reps must be a whole number >= 1; got {reps!r}")
    if len(stimuli) < 2:
        raise InputError(f"a continuum needs at least two images; got {len(stimuli)}")
    separations = _check_separations(stimuli, list(separations), record)
    conditions = [{"design": record.name, **condition} for condition in record.conditions(stimuli, separations)]

    rows, previous = [], None
    for block in range(1, int(reps) + 1):
        order = _block_order(len(conditions), previous, rng, no_repeats)
        for index in order:
            rows.append({"block": block, "trial": len(rows) + 1, **conditions[index]})
        previous = order[-1]
    return rows
