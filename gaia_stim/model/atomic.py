"""Files and folders that are whole or absent: write to a temporary sibling, then rename into place.

Temporary siblings are named ``.<name>.gaia-stim-tmp-<pid>-<random>`` (and folders set aside
while being replaced ``.<name>.gaia-stim-old-<pid>-<random>``), so that a process killed
half-way (``kill -9``, a power cut) leaves something a later run can recognise as its own and
clean up: :func:`remove_leftovers` removes those of processes that are no longer running, and
nothing else.

Output folders: every writer of an output folder (stimulus sets, synthetic face sets) goes through
:func:`staging_folder` and :func:`commit_folder`, so they share one policy:

* the folder is built in a hidden temporary sibling (with the user's usual permissions) and
  renamed into place only when complete;
* a missing or empty folder is simply filled; an existing one is replaced only with
  ``force``, and only if everything in it was written by gaia-stim: its ``manifest.json``
  names the kind of folder and lists every file with its sha256, and the folder holds
  nothing else and nothing changed. A user's own file in the folder, an edited image, or a
  folder that is not a gaia-stim folder at all (``--out .``) is never deleted;
* the new folder takes the old one's place in one atomic exchange where the system offers
  it (Linux ``renameat2``), so a process killed at any moment leaves the old folder or the
  new one; what an interrupted run left beside the folder is cleaned up by the next run
  (:func:`remove_leftovers`).
"""

import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil

from gaia_stim.core.errors import InputError, OutputExistsError

__all__ = [
    "atomic_write",
    "usual_mode",
    "temporary_name",
    "remove_leftovers",
    "MANIFEST_FILE",
    "MAX_NAME_BYTES",
    "file_sha256",
    "manifest_files",
    "check_replaceable",
    "staging_folder",
    "commit_folder",
    "discard_folder",
    "LOCK_FILE",
    "folder_lock",
    "enclosing_output_folder",
    "check_output_file",
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

MANIFEST_FILE = "manifest.json"
# A file-name component may hold 255 bytes on common file systems; the temporary sibling
# adds about 40 to the name.
MAX_NAME_BYTES = 200


def file_sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_files(manifest):
    """``{relative path: sha256}`` of every file a manifest says its folder holds (itself excluded)."""
    if isinstance(manifest.get("files"), list):
        records = manifest["files"]
    else:  # stimulus sets of format version 1 list their files by role
        records = list(manifest.get("images", []))
        records += [manifest[key] for key in ("table", "contact_sheet") if isinstance(manifest.get(key), dict)]
    files = {}
    for record in records:
        if isinstance(record, dict) and isinstance(record.get("file"), str) and isinstance(record.get("sha256"), str):
            files[record["file"]] = record["sha256"]
    return files


def _not_owned(out_dir, what, reason):
    return OutputExistsError(
        f"output folder {out_dir!r} {reason}, so it is not a {what} that gaia-stim wrote;"
        " it will not be replaced even with --force: choose another --out"
    )


def _check_owned(out_dir, format_name, what):
    """Raise unless every entry of ``out_dir`` is a file its gaia-stim manifest lists, unchanged."""
    manifest_path = os.path.join(out_dir, MANIFEST_FILE)
    if not os.path.isfile(manifest_path) or os.path.islink(manifest_path):
        raise _not_owned(out_dir, what, f"has no {MANIFEST_FILE}")
    try:
        with open(manifest_path, encoding="utf-8") as stream:
            manifest = json.load(stream)
    except (OSError, ValueError):
        raise _not_owned(out_dir, what, f"has a {MANIFEST_FILE} that is not gaia-stim's") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        raise _not_owned(out_dir, what, f"has a {MANIFEST_FILE} that is not gaia-stim's")
    listed = manifest_files(manifest)
    allowed_folders = {os.path.dirname(name) for name in listed}
    for name in list(allowed_folders):
        while name:
            name = os.path.dirname(name)
            allowed_folders.add(name)
    foreign, changed = [], []
    for root, folders, files in os.walk(out_dir):
        relative_root = os.path.relpath(root, out_dir).replace(os.sep, "/")
        relative_root = "" if relative_root == "." else relative_root
        for folder in folders:
            relative = f"{relative_root}/{folder}" if relative_root else folder
            if relative not in allowed_folders or os.path.islink(os.path.join(root, folder)):
                foreign.append(relative + "/")
        folders[:] = [f for f in folders if not os.path.islink(os.path.join(root, f))]
        for file in files:
            relative = f"{relative_root}/{file}" if relative_root else file
            path = os.path.join(root, file)
            if relative == MANIFEST_FILE:
                continue
            if relative not in listed or os.path.islink(path) or not os.path.isfile(path):
                foreign.append(relative)
            elif file_sha256(path) != listed[relative]:
                changed.append(relative)
    if foreign:
        shown = ", ".join(sorted(foreign)[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputExistsError(
            f"output folder {out_dir!r} holds files that gaia-stim did not write ({shown});"
            " it will not be replaced even with --force: move them out, or choose another --out"
        )
    if changed:
        shown = ", ".join(sorted(changed)[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise OutputExistsError(
            f"output folder {out_dir!r}: {shown} changed after gaia-stim wrote it;"
            " it will not be replaced even with --force: keep your edits elsewhere, or choose another --out"
        )


def _resolve(out_dir):
    """The absolute output path, refusing paths that cannot be a new folder."""
    text = os.fspath(out_dir)
    if not text:
        raise InputError("--out is empty; give the name of the folder to write, e.g. --out my_set")
    path = os.path.abspath(text)
    name = os.path.basename(path)
    if not name:
        raise InputError(f"--out {text!r} is the root of the file system; give the name of a new folder")
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    if cwd is not None and (cwd == path or cwd.startswith(path.rstrip(os.sep) + os.sep)):
        raise InputError(
            f"--out {text!r} is the current folder (or holds it); the output is written as a new"
            " folder: give it a name, e.g. --out my_set"
        )
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        raise InputError(
            f"--out: the folder name is {len(os.fsencode(name))} bytes long; at most {MAX_NAME_BYTES}"
            " fit beside the temporary folder it is built in: choose a shorter name"
        )
    return path


def check_replaceable(out_dir, force, format_name, what):
    """Whether ``out_dir`` holds an old folder to replace; raise if it may not be written.

    Parameters
    ----------
    out_dir : str
    force : bool
    format_name : str
        The ``format`` that this kind of folder's ``manifest.json`` states.
    what : str
        What such a folder is called in messages (e.g. ``"gaia-stim stimulus set"``).

    Returns
    -------
    bool
        True if an existing non-empty folder will be replaced, False if there is none (or it is empty).
    """
    out_dir = os.fspath(out_dir)
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
    _check_owned(out_dir, format_name, what)
    return True


def staging_folder(out_dir, force, format_name, what):
    """Check ``out_dir`` and create the hidden temporary sibling to build it in.

    Leftovers of interrupted earlier writes of ``out_dir`` are cleaned up first. Returns
    ``(absolute out_dir, temporary folder)``; the temporary folder has the usual permissions
    of a new folder (0777 less the umask).
    """
    path = _resolve(out_dir)
    parent = os.path.dirname(path)
    if os.path.lexists(parent) and not os.path.isdir(parent):
        raise InputError(f"--out {os.fspath(out_dir)!r}: {parent!r} is a file, not a folder; choose another --out")
    os.makedirs(parent, exist_ok=True)
    remove_leftovers(path)
    check_replaceable(path, force, format_name, what)  # fail before any work is done
    temporary = os.path.join(parent, temporary_name(os.path.basename(path)))
    os.mkdir(temporary)
    os.chmod(temporary, usual_mode(directory=True))
    return path, temporary


def discard_folder(temporary):
    """Remove a temporary folder after a failed write."""
    shutil.rmtree(temporary, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first, second):
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), second)


def commit_folder(temporary, out_dir, force, format_name, what):
    """Put the finished ``temporary`` folder at ``out_dir``; an old folder is removed last.

    The old folder is checked again (it may have changed while the new one was built).
    """
    out_dir = os.path.abspath(os.fspath(out_dir))
    if not check_replaceable(out_dir, force, format_name, what):
        os.replace(temporary, out_dir)  # onto nothing, or onto an empty folder
        return
    if _exchange(temporary, out_dir):
        shutil.rmtree(temporary, ignore_errors=True)  # now the old folder
        return
    parent, name = os.path.split(out_dir)
    aside = os.path.join(parent, temporary_name(name, kind="old"))
    os.rename(out_dir, aside)
    try:
        os.rename(temporary, out_dir)
    except BaseException:
        os.rename(aside, out_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)

# --------------------------------------------------------------------------------------------
# locks

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


# --------------------------------------------------------------------------------------------
# file outputs: the same ownership rule as folders


def enclosing_output_folder(path):
    """The nearest folder above ``path`` that gaia-stim wrote as a whole, or None.

    Such a folder (a stimulus set, a face set, a cache) has a ``manifest.json`` whose ``format``
    names a gaia-stim format and lists what the folder holds; a file written into it would make it
    fail verification, and replacing one of its files would damage it.
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    while True:
        manifest = os.path.join(folder, MANIFEST_FILE)
        if os.path.isfile(manifest):
            try:
                with open(manifest, encoding="utf-8") as stream:
                    found = json.load(stream)
                if isinstance(found, dict) and str(found.get("format", "")).startswith("gaia-stim"):
                    return folder
            except (OSError, ValueError):
                pass
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def check_output_file(path, force, what, owned=None, inputs=()):
    """Refuse to write the file ``path`` unless gaia-stim may: the one rule for file outputs.

    ``what`` names the kind of file with its article, e.g. ``"a trial list"``.

    * never one of the command's ``inputs`` (the same file, by its real path);
    * never inside a folder gaia-stim wrote as a whole (:func:`enclosing_output_folder`);
    * an existing file only with ``force``, and only if ``owned(path)`` proves gaia-stim wrote it
      (its record says so and the bytes are those recorded); anything else is left as it is.

    Raises OutputExistsError (or InputError for an input) naming the path and the reason.
    """
    path = os.fspath(path)
    real = os.path.realpath(path)
    for given in inputs:
        if given is not None and os.path.exists(given) and os.path.realpath(os.fspath(given)) == real:
            raise InputError(f"--out {path!r} is one of this command's inputs; write to another file")
    folder = enclosing_output_folder(path)
    if folder is not None:
        raise OutputExistsError(
            f"--out {path!r} is inside {folder!r}, a folder gaia-stim wrote as a whole (a stimulus set, face set"
            " or cache): a file added there would break it; write beside it instead"
        )
    if not os.path.lexists(path):
        return
    if not force:
        raise OutputExistsError(f"{path!r} exists; pass --force to replace it or choose another --out")
    if os.path.islink(path) or not os.path.isfile(path) or owned is None or not owned(path):
        raise OutputExistsError(
            f"{path!r} exists and is not {what} that gaia-stim wrote (or it was changed since); it will not be"
            " replaced even with --force: choose another --out"
        )
