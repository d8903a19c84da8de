"""Trial orders: pure functions from the stimuli of a set to pre-randomised trial rows.

Each design (a record in :mod:`gaia_stim.designs.records`) turns the stimuli of a set (dicts with
``image_file``, ``step`` and ``morph_level``, sorted by level; or, for identification over a grid,
``levels`` holding two named levels) into its conditions. A block holds every condition of the
design once, in an order drawn from ``rng``; ``reps`` blocks follow one another.

No repeats. With ``no_repeats=True`` no trial shows the same images as the trial before it, in any
order, side or role: the *images* of a trial are the set of files it shows (a 2AFC pair with its
sides swapped, an ABX trial with the other X, or a same-different "same" trial of an image are the
same images), and two consecutive trials never have the same images, within a block or across the
boundary between blocks. This holds by construction: each block is drawn trial by trial, every
trial at random among the remaining conditions that differ from the trial before and leave an order
of the rest that can still keep the rule (a multiset of n trials whose most frequent images occur
m times can be ordered so iff m <= ceil(n / 2), and, when its first trial must differ from a given
one that occurs c times, iff also c <= floor(n / 2)). A design whose block cannot keep the rule (one
pair, whose trials all show the same two images) is refused with an error naming the fix;
``no_repeats=False`` shuffles every block freely.

Balanced images. In a design that pairs images ``d`` steps apart, an image near an end of the set
belongs to fewer pairs than one in the middle (pair (i, i + d) exists only for i < n - d), so it is
shown less often: half as often at the ends for a single separation, and not at all for images that
no pair reaches (e.g. the middle image of 5 with d = 3). A fixed separation cannot be given more end
pairs (they do not exist) and repeating the end pairs does not even it out (the end pair's other
image gains as much); so ``balance_images=True`` adds *balancing pairs* instead: the images that
belong to fewest pairs, in level order, are paired first half with second half, which adds pairs
that take no image past the set's ends (no wrap-around) and joins every image to equally many
pairs. Balancing pairs are marked ``balancing = 1`` in the rows (0 for the design's own pairs)
and carry their own step separation (e.g. n - d). :func:`image_counts` counts how often each image
is shown.
"""

import collections

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.core.limits import check_work
from gaia_stim.designs.records import DESIGNS, get_design

__all__ = ["DESIGNS", "design_trials", "shown_images", "image_counts", "balancing_pairs"]

# How many random draws may miss an allowed trial before the allowed ones are listed: the rule
# rarely binds, so a draw is nearly always allowed; listing keeps the worst case bounded.
_DRAWS_BEFORE_LISTING = 16


def shown_images(condition):
    """The image files a trial shows, one entry per showing (an ABX trial's X counts again).

    The image columns of every design start with ``image`` (``image_file``, ``image_left``,
    ``image_a``, ``image_x``, ``image_1``, ...).
    """
    return [value for name, value in condition.items() if name.startswith("image")]


def image_counts(rows):
    """``{image_file: times shown}`` over trial rows (or conditions), in order of first showing."""
    return dict(collections.Counter(image for row in rows for image in shown_images(row)))


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
                f" {n_steps}-image set"
            )
        if separation not in checked:
            checked.append(separation)
    return sorted(checked)


def balancing_pairs(n_images, pairs):
    """Pairs to add to ``pairs`` so that every image of ``0 .. n_images - 1`` is in equally many.

    Parameters
    ----------
    n_images : int
    pairs : list of (low, high, separation)

    Returns
    -------
    list of (low, high, separation)
        Each image's shortfall against the target (the most pairs any image is in, or one or two
        more when the shortfalls cannot be paired off) is a slot; the slots, in image order, are
        paired first half with second half, so no pair joins an image to itself.
    """
    membership = [0] * n_images
    for low, high, _ in pairs:
        membership[low] += 1
        membership[high] += 1
    target = max(membership)
    while True:
        shortfall = [target - count for count in membership]
        total = sum(shortfall)
        # Slots pair off when their number is even and no image holds more than half of them.
        if total % 2 == 0 and max(shortfall) <= total // 2:
            break
        target += 1
    slots = [image for image, missing in enumerate(shortfall) for _ in range(missing)]
    half = len(slots) // 2
    return [(slots[k], slots[k + half], slots[k + half] - slots[k]) for k in range(half)]


def _no_order(design, keys, n_trials):
    counts = collections.Counter(keys)
    images, count = counts.most_common(1)[0]
    shown = " and ".join(sorted(images))
    return InputError(
        f"no order of the {design} trials keeps consecutive trials from showing the same images: {count} of"
        f" the {n_trials} trials of a block show {shown}; add images or separations, or pass --allow-repeats"
    )


class _Remaining:
    """The conditions of a block not yet placed, counted by the images they show (keys numbered 0..)."""

    def __init__(self, keys):
        self.keys = keys
        self.pool = list(range(len(keys)))
        self.counts = [0] * (max(keys) + 1)
        for key in keys:
            self.counts[key] += 1
        self.top = max(self.counts)
        self.how_many = [0] * (self.top + 1)  # how_many[c]: keys that c remaining conditions show
        for count in self.counts:
            self.how_many[count] += 1

    def can_follow(self, previous):
        """Whether the remaining conditions can be ordered, after ``previous``, keeping the rule."""
        n = len(self.pool)
        return self.top <= (n + 1) // 2 and (previous is None or self.counts[previous] <= n // 2)

    def allows(self, key, previous):
        """Whether ``key`` may come next: it differs from ``previous`` and the rest stays orderable."""
        if key == previous:
            return False
        count, rest = self.counts[key], len(self.pool) - 1
        top = self.top if count < self.top or self.how_many[self.top] > 1 else self.top - 1
        return top <= (rest + 1) // 2 and count - 1 <= rest // 2

    def take(self, at):
        index = self.pool[at]
        self.pool[at] = self.pool[-1]
        self.pool.pop()
        key = self.keys[index]
        count = self.counts[key]
        self.how_many[count] -= 1
        self.how_many[count - 1] += 1
        self.counts[key] = count - 1
        if count == self.top and self.how_many[count] == 0:
            self.top -= 1
        return index


def _constrained_order(keys, previous, rng):
    """An order of ``range(len(keys))`` in which no two neighbours, nor ``previous`` and the first, share a key.

    Returns None if there is none. Each trial is drawn uniformly among the remaining conditions
    that keep an order of the rest possible.
    """
    numbers = {}
    keys = [numbers.setdefault(key, len(numbers)) for key in keys]
    previous = numbers.get(previous)  # None also when this block never shows the images it ended on
    remaining = _Remaining(keys)
    if not remaining.can_follow(previous):
        return None
    order = []
    while remaining.pool:
        at = None
        for _ in range(_DRAWS_BEFORE_LISTING):
            draw = int(rng.integers(len(remaining.pool)))
            if remaining.allows(keys[remaining.pool[draw]], previous):
                at = draw
                break
        if at is None:
            allowed = [i for i, index in enumerate(remaining.pool) if remaining.allows(keys[index], previous)]
            at = allowed[int(rng.integers(len(allowed)))]
        index = remaining.take(at)
        order.append(index)
        previous = keys[index]
    return order


def _conditions(record, stimuli, separations, balance_images):
    if not balance_images or not record.takes_separations:
        conditions = record.conditions(stimuli, separations)
        return [{"design": record.name, **condition} for condition in conditions]
    if record.pair_conditions is None:
        raise InputError(
            f"the {record.name} design builds its own pairs, so balancing pairs cannot be added to it;"
            " leave out --balance-images"
        )
    pairs = [(low, low + d, d) for d in separations for low in range(len(stimuli) - d)]
    rows = []
    for balancing, chosen in ((0, pairs), (1, balancing_pairs(len(stimuli), pairs))):
        rows += [{"design": record.name, **condition, "balancing": balancing}
                 for condition in record.pair_conditions(stimuli, chosen)]
    return rows


def design_trials(stimuli, design, reps, rng, separations=(), no_repeats=True, balance_images=False, yes=False,
                  n_conditions=None):
    """Trial rows of one design, pre-randomised block by block.

    Parameters
    ----------
    stimuli : list of dict
        The set, sorted by level; each dict has ``image_file`` (str, as it should appear in the
        trial table), ``step`` (int) and ``morph_level`` (float), or, for identification over two
        level columns, ``levels`` (a dict of the two named levels) instead of ``morph_level``.
    design : str
        The name of a design in :data:`gaia_stim.designs.records.DESIGNS`.
    reps : int
        Number of blocks; every condition appears once per block.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same trials.
    separations : sequence of int, default=()
        Step separations of the pairs (only for designs that take separations).
    no_repeats : bool, default=True
        Never show the same images (in any order or side) on two consecutive trials.
    balance_images : bool, default=False
        Add balancing pairs so that every image is shown equally often (designs that pair
        images); the rows then carry ``balancing`` (1 for an added pair, 0 for the design's own).
    yes : bool, default=False
        Build more trials than the cap of :data:`gaia_stim.core.limits.CAPS` (``"trials"``), which is
        otherwise refused before any trial is drawn.
    n_conditions : int or None, default=None
        For a design that builds its own blocks (the record's ``trials``, MLDS): a balanced subset
        of that many conditions (triads, quadruples) instead of all of them.

    Returns
    -------
    list of dict
        One dict per trial: ``block`` and ``trial`` (both from 1), ``design``, then the condition.

    Raises
    ------
    InputError
        Unknown design, ``reps`` < 1, fewer than two stimuli, a separation that does not fit, a
        pair design over two level columns, no order that keeps consecutive trials apart, or more
        trials than the cap without ``yes``.
    """
    record = get_design(design)
    if isinstance(reps, (bool, np.bool_)) or int(reps) != reps or reps < 1:
        raise InputError(f"reps must be a whole number >= 1; got {reps!r}")
    if record.trials is not None:
        # The design orders its own blocks (MLDS: balanced presentation orders, no-repeat rule).
        if list(separations):
            raise InputError(f"--separation does not apply to the {record.name} design; leave it out")
        if balance_images:
            raise InputError(f"the {record.name} design balances its own images; leave out --balance-images")
        if any("levels" in stimulus for stimulus in stimuli):
            raise InputError(f"the {record.name} design needs a set with one level column (a continuum)")
        return record.trials(stimuli, int(reps), rng, no_repeats=no_repeats, n_conditions=n_conditions, yes=yes)
    if n_conditions is not None:
        raise InputError(f"--n-conditions applies to the MLDS designs only, not to {record.name}")
    if len(stimuli) < 2:
        raise InputError(f"a stimulus set needs at least two images; got {len(stimuli)}")
    if record.takes_separations and any("levels" in stimulus for stimulus in stimuli):
        names = ", ".join(next(s["levels"] for s in stimuli if "levels" in s))
        raise InputError(
            f"the {record.name} design pairs images along one level, and this set has two level columns"
            f" ({names}); use --design identification over it, or a set with one level (a continuum)"
        )
    separations = _check_separations(stimuli, list(separations), record)
    conditions = _conditions(record, stimuli, separations, balance_images)
    check_work("trials", int(reps) * len(conditions), yes, f"--reps {int(reps):,} x {len(conditions)} conditions",
               "lower --reps")
    keys = [frozenset(shown_images(condition)) for condition in conditions]

    rows, previous = [], None
    for block in range(1, int(reps) + 1):
        if no_repeats:
            order = _constrained_order(keys, previous, rng)
            if order is None:
                raise _no_order(record.name, keys, len(conditions))
        else:
            order = rng.permutation(len(conditions))
        for index in order:
            rows.append({"block": block, "trial": len(rows) + 1, **conditions[index]})
        previous = keys[order[-1]]
    return rows
