"""Run folders: what a training run's folder may hold, and when a folder may become one.

A run folder holds :data:`RUN_FILES` (``run.json``, ``checkpoint.pt``, ``model.pt``,
``metrics.csv``), the sample sheets ``samples/step_NNNNNNN.png`` and the run's lock file
(:data:`gaia_stim.core.atomic.LOCK_FILE`); a folder holding anything else was not written by a
training run and is never written into. The rules, which ``gaia-stim train`` applies:

* a new run goes into a missing or empty folder, or into one that a run which stopped before
  its first checkpoint left behind (:func:`check_new_run_folder`, :func:`clear_unstarted_run`);
* a folder with a checkpoint is continued with ``--resume``, never started afresh, and a folder
  with a model but no checkpoint is never touched (:func:`check_run_to_resume`).

Nothing here imports torch.
"""

import os
import shutil

from gaia_stim.core.atomic import LOCK_FILE, remove_leftovers
from gaia_stim.core.errors import InputError

__all__ = ["RUN_FILES", "SAMPLE_FOLDER", "run_entries", "check_new_run_folder", "clear_unstarted_run",
           "check_run_to_resume"]

# What a run folder holds (besides ``samples/step_NNNNNNN.png``): a folder with only these was
# written by gaia-stim.
RUN_FILES = ("run.json", "checkpoint.pt", "model.pt", "metrics.csv")
SAMPLE_FOLDER = "samples"


def run_entries(run_dir):
    """The entries of the folder ``run_dir``, or None if something in it was not written by a training run.

    Leftovers of interrupted writes of the run's files (:func:`gaia_stim.core.atomic.remove_leftovers`)
    are removed first. Links never count as the run's own files.

    Parameters
    ----------
    run_dir : str or path-like
        An existing folder.

    Returns
    -------
    list of str or None
    """
    for name in RUN_FILES:
        remove_leftovers(os.path.join(run_dir, name))
    entries = os.listdir(run_dir)
    for name in entries:
        path = os.path.join(run_dir, name)
        if name == LOCK_FILE and os.path.isfile(path) and not os.path.islink(path):
            continue
        if name == SAMPLE_FOLDER and os.path.isdir(path) and not os.path.islink(path):
            if all(entry.startswith("step_") and entry.endswith(".png") for entry in os.listdir(path)):
                continue
            return None
        if name not in RUN_FILES or not os.path.isfile(path) or os.path.islink(path):
            return None
    return entries


def check_new_run_folder(run_dir):
    """Refuse ``run_dir`` as the folder of a new run unless it is missing, empty or an unstarted run's.

    Raises
    ------
    InputError
        ``run_dir`` is a file, holds files a run did not write, holds a run to ``--resume``, or
        holds a trained model without a checkpoint (never started afresh).
    """
    if not os.path.lexists(run_dir):
        return
    if not os.path.isdir(run_dir):
        raise InputError(f"--out {run_dir!r} exists and is not a folder; choose a new run folder")
    entries = run_entries(run_dir)
    if entries is None:
        raise InputError(f"--out {run_dir!r} exists and holds other files; choose a new run folder")
    if "checkpoint.pt" in entries:
        raise InputError(
            f"{run_dir!r} already holds a training run; add --resume to continue it, or choose another --out"
        )
    if "model.pt" in entries:
        raise InputError(
            f"{run_dir!r} holds a trained model (model.pt) but no checkpoint.pt to continue from; a folder"
            " with a model is never started afresh: choose another --out, or move model.pt out of it first"
        )


def clear_unstarted_run(run_dir):
    """Create ``run_dir``, or empty it of what a run that stopped before its first checkpoint wrote.

    Such a run can only start again. Call it after :func:`check_new_run_folder`, holding the run
    folder's lock (whose file is kept). A folder holding anything a run did not write is left as
    it is.
    """
    os.makedirs(run_dir, exist_ok=True)
    if not run_entries(run_dir):
        return
    for name in os.listdir(run_dir):
        if name == LOCK_FILE:  # held by this process
            continue
        path = os.path.join(run_dir, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def check_run_to_resume(run_dir):
    """Refuse to ``--resume`` ``run_dir`` unless it is a folder with a checkpoint to continue from.

    Checked before the run's lock file is created there, so a mistyped ``--out`` leaves nothing behind.

    Raises
    ------
    InputError
        ``run_dir`` is not a folder, or has no ``checkpoint.pt``.
    """
    if not os.path.isdir(run_dir):
        raise InputError(f"--resume: {run_dir!r} is not a training run folder; give the --out of a run")
    if not os.path.isfile(os.path.join(run_dir, "checkpoint.pt")):
        raise InputError(f"--resume: {run_dir!r} has no checkpoint.pt to continue from")
