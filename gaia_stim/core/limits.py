"""Caps on the work a command can be asked for: one table, read by the options, the file readers and the docs.

Two kinds of number live here:

* **option limits** -- the range an option accepts (``continuum --steps`` from 2 to 10,000). A value
  read from a file that stands for that option (a manifest's ``n_steps``) meets the same limit,
  named after the option, through :mod:`gaia_stim.core.schemas`;
* **work caps** (:data:`CAPS`) -- the most work a command starts without being asked twice: the
  trials of a list, the fits of a bootstrap, the images of a grid or of a set rebuilt by ``verify
  --regenerate``. Past a cap, :func:`check_work` refuses with the estimate and the fix (ask for
  less, or add ``--yes``); with ``--yes`` it goes ahead and says how much it is doing, in one warning.

Every cap is checked once the inputs are read and before anything is written. docs/errors.md lists
this table (``scripts/write_errors_table.py`` copies it there).
"""

import warnings
from dataclasses import dataclass

from gaia_stim.core.errors import InputError

__all__ = [
    "MAX_STEPS", "MAX_WHEEL_IMAGES", "CORRECTIONS", "MAX_CORRECTIONS", "MAX_GRID_SIDE", "MAX_DATA_LEVEL", "Cap", "CAPS", "OPTION_LIMITS", "WorkWarning",
    "check_work", "estimate",
]

# ---- option limits (the option refuses more; a file's value standing for it is refused the same way)
# continuum --steps, attribute --steps; a manifest's n_steps, levels, amounts. Steps are decoded and
# held while they are measured (64 px: 48 KiB an image).
MAX_STEPS = 10_000
MAX_WHEEL_IMAGES = 3_600  # wheel --n (one image per 0.1 degree); a manifest's n_images of a wheel
MAX_GRID_SIDE = 1_000  # grid --rows and --columns; a manifest's n_rows and n_columns
# attribute --corrections; a manifest's corrections. Each is one decode and encode per step.
MAX_CORRECTIONS = 10
# ... and its default (gaia_stim.stimuli.axes.correct_codes): none, the straight line. Two corrections
# bring the worst leakage on the benchmark's faces from 0.32 to 0.12 of a parameter's range, but push
# a face near the edge of the family off it, with visible artefacts (docs/axes.md): ask for them.
CORRECTIONS = 0
# Levels in a data file for analyze: no gaia-stim set has levels this far out, and the fit's
# arithmetic overflows near 1e308 (a level of 1e308 gave an interval of 1e300).
MAX_DATA_LEVEL = 1e6

OPTION_LIMITS = (
    ("continuum --steps, attribute --steps", f"2 to {MAX_STEPS:,}", "n_steps, levels, amounts"),
    ("wheel --n", f"3 to {MAX_WHEEL_IMAGES:,}", "n_images of a wheel"),
    ("grid --rows, --columns", f"2 to {MAX_GRID_SIDE:,}", "n_rows, n_columns"),
    ("attribute --corrections", f"0 to {MAX_CORRECTIONS}", "corrections of an attribute series"),
    ("trials and analyze: a level in a table", f"-{MAX_DATA_LEVEL:g} to {MAX_DATA_LEVEL:g}",
     "morph_level and the other level columns of stimuli.csv and of data files"),
)


@dataclass(frozen=True)
class Cap:
    """The most work of one kind a command starts without ``--yes``, and what each unit of it costs.

    ``seconds_each`` and ``bytes_each`` were measured on a two-core CPU machine (a 64 px ``small``
    model: the default model before 2026-12-02, the same network size as today's); they give the
    estimate a refusal states, not a promise.
    """

    limit: int
    counts: str  # what is counted, plural ("images")
    how: str  # how the count is made
    commands: str  # the commands it applies to
    seconds_each: float
    bytes_each: int  # written to disk (0: nothing beyond a summary)


CAPS = {
    "set_images": Cap(10_000, "images", "a grid's rows x columns; the images verify --regenerate rebuilds",
                      "grid, verify --regenerate", 0.004, 6_000),
    "trials": Cap(100_000, "trials", "--reps x the design's conditions per block", "trials", 0.0001, 70),
    "bootstrap_fits": Cap(100_000, "fits", "--bootstrap x the groups fitted (participants and pooled, per design)",
                          "analyze", 0.04, 0),
}


def _duration(seconds):
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{max(seconds, 1):.0f} s"


def _size(n_bytes):
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes:.0f} bytes"


def estimate(name, amount):
    """``"about 1 h and 6.0 GB"``: what ``amount`` of the work ``CAPS[name]`` counts costs, roughly."""
    cap = CAPS[name]
    disk = f" and {_size(amount * cap.bytes_each)} of disk" if cap.bytes_each else ""
    return f"about {_duration(amount * cap.seconds_each)}{disk}"


class WorkWarning(UserWarning):
    """More work than a cap was asked for with --yes: how much is being done."""


def check_work(name, amount, yes=False, detail="", fix="ask for less"):
    """Refuse ``amount`` of the work ``CAPS[name]`` counts past its cap, unless ``yes``.

    Parameters
    ----------
    name : str
        A key of :data:`CAPS`.
    amount : int
        The work asked for, counted as the cap counts it.
    yes : bool, default=False
        Go ahead past the cap (``--yes``); a :class:`WorkWarning` then states the estimate.
    detail : str
        How the amount was reached, e.g. ``"a 1000 x 1000 grid"``.
    fix : str
        How to ask for less, naming the option (e.g. ``"lower --reps"``).

    Raises
    ------
    InputError
        ``amount`` is past the cap and ``yes`` is false: the message gives the amount, the
        estimate, the cap, the fix and ``--yes``.
    """
    cap = CAPS[name]
    if amount <= cap.limit:
        return
    how = f" ({detail})" if detail else ""
    if not yes:
        raise InputError(
            f"this asks for {amount:,} {cap.counts}{how}, {estimate(name, amount)}: more than the {cap.limit:,}"
            f" gaia-stim starts without asking; {fix}, or add --yes to go ahead"
        )
    warnings.warn(f"{amount:,} {cap.counts}{how}, past the cap of {cap.limit:,} as --yes asks:"
                  f" {estimate(name, amount)}", WorkWarning, stacklevel=2)
