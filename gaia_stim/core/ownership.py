"""Output folders and files: ``--force`` replaces only what gaia-stim wrote.

Every writer of an output folder (stimulus sets, synthetic face sets) goes through
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
  (:func:`gaia_stim.core.atomic.remove_leftovers`).

Every writer of a single output file (a trial list, an axes file, a report) asks
:func:`check_output_file` first: the same rule for files.
"""

import ctypes
import errno
import json
import os
import shutil

from gaia_stim.core.atomic import file_sha256, remove_leftovers, temporary_name, usual_mode
from gaia_stim.core.errors import InputError, OutputExistsError

__all__ = [
    "MANIFEST_FILE",
    "MAX_NAME_BYTES",
    "manifest_files",
    "check_replaceable",
    "staging_folder",
    "commit_folder",
    "discard_folder",
    "enclosing_output_folder",
    "check_output_file",
]

MANIFEST_FILE = "manifest.json"
# A file-name component may hold 255 bytes on common file systems; the temporary sibling
# adds about 40 to the name.
MAX_NAME_BYTES = 200


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
    enclosing = enclosing_output_folder(path)
    if enclosing is not None:
        raise OutputExistsError(
            f"--out {os.fspath(out_dir)!r} is inside {enclosing!r}, a folder gaia-stim wrote as a whole (a stimulus"
            " set, face set or cache): a folder added there would break it; write beside it instead"
        )
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
