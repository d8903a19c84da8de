"""Folders that appear whole or not at all: build in a hidden sibling, then rename into place.

Every writer of an output folder (stimulus sets, synthetic face sets) goes through
:func:`move_into_place`, so they share one policy: a missing or empty folder is simply
filled; an existing one is replaced only with ``force``, only if it holds the writer's
marker file (``--force`` never deletes an arbitrary folder such as ``.``), and the old
folder is removed only after the new one is in place.
"""

import os
import shutil
import uuid

from gaia_stim.errors import OutputExistsError

__all__ = ["check_replaceable", "move_into_place"]


def check_replaceable(out_dir, force, marker, what):
    """Whether ``out_dir`` holds an old folder to replace; raise if it may not be written.

    Parameters
    ----------
    out_dir : str
    force : bool
    marker : str
        A file name that only folders of this kind contain (e.g. ``manifest.json``).
    what : str
        What such a folder is called in messages (e.g. ``"gaia-stim stimulus set"``).

    Returns
    -------
    bool
        True if an existing non-empty folder will be replaced, False if there is none (or it is empty).
    """
    if not os.path.lexists(out_dir):
        return False
    if not os.path.isdir(out_dir) or os.path.islink(out_dir):
        raise OutputExistsError(
            f"output path {out_dir!r} exists and is not a folder; it will not be replaced even with"
            " --force; remove it or choose another --out"
        )
    if not os.listdir(out_dir):
        return False
    if not force:
        raise OutputExistsError(
            f"output folder {out_dir!r} exists; choose another --out, or pass --force to replace it"
        )
    if not os.path.isfile(os.path.join(out_dir, marker)):
        raise OutputExistsError(
            f"output folder {out_dir!r} exists and is not a {what} (it has no {marker});"
            " it will not be replaced even with --force; remove it or choose another --out"
        )
    return True


def move_into_place(temporary, out_dir, force, marker, what):
    """Rename the finished ``temporary`` folder to ``out_dir``; an old folder is removed last."""
    if not check_replaceable(out_dir, force, marker, what):
        os.replace(temporary, out_dir)  # onto nothing, or onto an empty folder
        return
    parent, name = os.path.split(out_dir)
    aside = os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:12]}")
    os.rename(out_dir, aside)
    try:
        os.rename(temporary, out_dir)
    except BaseException:
        os.rename(aside, out_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)
