"""Exceptions raised by gaia-stim for bad input.

Every error a user can cause derives from :class:`GaiaStimError`, so the CLI can
turn it into one clear line and a non-zero exit status. Messages name the
argument, the bad value and, where there is one, the fix.

Also here: :func:`describe_os_error`, an ``OSError`` as one line naming the path and the fix, so
that the commands and the explorer say the same about a failing disk or a refused permission.
"""

import errno
import os
import re

__all__ = [
    "GaiaStimError", "InputError", "DataError", "ModelFileError", "OutputExistsError", "TrainingDiverged",
    "Terminated", "describe_os_error",
]


class GaiaStimError(ValueError):
    """Base class of the errors a user's input can cause."""


class InputError(GaiaStimError):
    """An argument has a value that cannot be used."""


class DataError(GaiaStimError):
    """An image or an image folder cannot be read or holds no images."""


class ModelFileError(GaiaStimError):
    """A model or checkpoint file is missing, unreadable or of the wrong kind."""


class OutputExistsError(GaiaStimError):
    """An output path exists and overwriting it was not asked for."""


class TrainingDiverged(GaiaStimError):
    """A loss or gradient became NaN or infinite; the run stopped before applying it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a cluster scheduler sends), raised so that the process unwinds like Ctrl-C."""


_OS_ERROR_FIXES = {
    errno.EROFS: "the file system is read-only: choose a place you can write to",
    errno.ENOSPC: "the disk is full: free some space or choose another disk",
    errno.EDQUOT: "your disk quota is used up: free some space or choose another disk",
    errno.EACCES: "permission denied: choose a place you may read and write, or change its permissions",
    errno.EPERM: "operation not permitted: choose a place you may read and write",
    errno.ENAMETOOLONG: "the name is too long for the file system: choose a shorter one",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.ENOENT: "it does not exist: check the path",
    errno.EISDIR: "it is a folder, not a file: give a file",
    errno.EEXIST: "it already exists: choose another name",
    errno.ELOOP: "too many symbolic links: give the real path",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) and try again",
    errno.EIO: "an input/output error: the disk or network share may be failing",
}


# gaia-stim's temporary siblings (gaia_stim.core.atomic.temporary_name), shown by their final names
_TEMPORARY = re.compile(r"\.(?P<name>[^/]+)\.gaia-stim-tmp-\d+-[0-9a-f]{8}(?:\.tmp)?")


def _shown_path(path):
    """A path for messages: gaia-stim's temporary names as the final ones, very long ones shortened."""
    text = _TEMPORARY.sub(lambda match: match.group("name"), os.fsdecode(path))
    return text if len(text) <= 120 else text[:55] + "..." + text[-55:]


def describe_os_error(error):
    """One line for an OSError: what failed, on which file, and the fix."""
    where = _shown_path(error.filename) if error.filename is not None else None
    fix = _OS_ERROR_FIXES.get(error.errno) or (error.strerror or str(error) or type(error).__name__)
    if where is not None:
        return f"cannot use {where!r}: {fix}"
    return fix
