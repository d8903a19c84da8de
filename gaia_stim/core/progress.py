"""Progress bars: one helper, a tqdm bar on stderr when stderr is a terminal, nothing otherwise.

Anything that can take more than a few seconds (writing a set, preparing a cache, a bootstrap,
regeneration, equal spacing's refinement, training) shows its progress through
:func:`progress_bar`, so every bar looks and behaves alike: on stderr, only when stderr is a terminal
(pipes, log files and tests see nothing), shown only once the work has run for :data:`DELAY_S`
seconds (quick work never flashes a bar), and gone when the work is done.
"""

import sys

__all__ = ["DELAY_S", "progress_bar", "shows_progress"]

# Seconds before a bar appears: work quicker than this shows none.
DELAY_S = 1.0


def shows_progress(enabled=True):
    """True when a bar would be drawn: ``enabled`` and stderr is a terminal."""
    try:
        return bool(enabled) and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def progress_bar(iterable=None, total=None, description=None, unit="it", enabled=True, **options):
    """A tqdm bar over ``iterable`` (or ``total`` steps, moved with ``update``) on stderr if it is a terminal.

    Parameters
    ----------
    iterable : iterable, optional
        Iterate over the returned bar as over ``iterable``.
    total : int, optional
        The number of steps (``len(iterable)`` by default, where it has one).
    description : str, optional
        Words before the bar, e.g. ``"writing images"``.
    unit : str, default="it"
    enabled : bool, default=True
        False turns the bar off whatever stderr is (e.g. all but one process of a distributed run).
    **options
        Passed to tqdm (e.g. ``initial``).

    Returns
    -------
    tqdm.tqdm
        Disabled (it draws nothing and costs next to nothing) unless a bar is shown; iterate over it,
        or call ``update(n)`` and ``close()`` (or use it as a context manager) alike either way.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=description, unit=unit, disable=not shows_progress(enabled),
                file=sys.stderr, leave=False, dynamic_ncols=True, delay=DELAY_S, **options)
