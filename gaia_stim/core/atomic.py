"""Files that are whole or absent: write to a temporary sibling, then rename into place.

Temporary siblings are named ``.<name>.gaia-stim-tmp-<pid>-<random>`` (and folders set aside
while being replaced ``.<name>.gaia-stim-old-<pid>-<random>``), so that a process killed
half-way (``kill -9``, a power cut) leaves something a later run can recognise as its own and
clean up: :func:`remove_leftovers` removes those of processes that are no longer running, and
nothing else.

Also here: :func:`folder_lock`, the one lock on a folder that one process at a time may write
(a training run), and :func:`file_sha256`. Which output folders and files gaia-stim may replace
is :mod:`gaia_stim.core.ownership`, built on this module.
"""

import errno
import hashlib
import os
import re
import secrets
import shutil

from gaia_stim.core.errors import InputError

__all__ = [
    "atomic_write",
    "usual_mode",
    "temporary_name",
    "remove_leftovers",
    "file_sha256",
    "LOCK_FILE",
    "folder_lock",
]

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.gaia-stim-(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}(?:\.tmp)?$")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def usual_mode(directory=False):
    """The mode a new file (0666) or folder (0777) gets under the current umask."""
    return (0o777 if directory else 0o666) & ~_umask()


def temporary_name(name, kind="tmp"):
    """``.<name>.gaia-stim-<kind>-<pid>-<random>``: a sibling name that :func:`remove_leftovers` knows."""
    return f".{name}.gaia-stim-{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_leftovers(path):
    """Remove what interrupted writes of ``path`` left beside it; return the names removed.

    Only siblings named by :func:`temporary_name` for ``path`` whose process is gone are
    touched. A folder that was set aside while being replaced (``old``) is put back in place
    when ``path`` itself is missing (the replacement never arrived); otherwise it is removed.
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    try:
        entries = os.listdir(parent)
    except OSError:
        return []
    removed = []
    for entry in sorted(entries):
        match = _LEFTOVER.match(entry)
        if match is None or match.group("name") != name or _running(int(match.group("pid"))):
            continue
        leftover = os.path.join(parent, entry)
        if match.group("kind") == "old" and not os.path.lexists(path):
            os.rename(leftover, path)
            continue
        if os.path.isdir(leftover) and not os.path.islink(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            try:
                os.remove(leftover)
            except FileNotFoundError:
                pass
        removed.append(entry)
    return removed


def atomic_write(path, write, binary=True):
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets the usual mode (0666 less the umask); on any error the temporary file is
    removed and ``path`` keeps its old content. Leftovers of earlier interrupted writes of
    ``path`` are removed first.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    remove_leftovers(path)
    temporary = os.path.join(directory, temporary_name(name) + ".tmp")
    try:
        with open(temporary, "xb" if binary else "x", **({} if binary else {"newline": ""})) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, usual_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LOCK_FILE = ".gaia-stim.lock"


class _FolderLock:
    """An exclusive OS lock (``flock``) on ``<folder>/.gaia-stim.lock``, released when the process ends."""

    def __init__(self, folder, what):
        self.folder, self.what, self.handle = os.fspath(folder), what, None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # no flock (Windows): no lock, as before locks existed
            return self
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, LOCK_FILE)
        handle = open(path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                handle.close()
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise InputError(
                f"{self.what} {self.folder!r} is in use by another gaia-stim process (pid {holder}); wait for it"
                " to finish or stop it, then try again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc_info):
        if self.handle is not None:
            self.handle.close()  # closing the file releases the lock; the file itself stays (harmless)
            self.handle = None
        return False


def folder_lock(folder, what="folder"):
    """A context manager that holds an exclusive lock on ``folder`` (created if missing).

    The lock is the operating system's (``flock`` on ``<folder>/.gaia-stim.lock``): it dies with
    the process, so ``kill -9`` never leaves a stale lock behind. A second process asking for the
    same folder gets an :class:`~gaia_stim.core.errors.InputError` naming the holder's pid.
    """
    return _FolderLock(folder, what)
