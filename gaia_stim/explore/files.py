"""What the explore server may read and write: images inside one folder, uploads, output folders.

Every path the page sends is relative, and is checked here before it is opened:

* an image of the ``--images`` folder: a relative path with forward slashes, no ``..``, no
  absolute path or drive, resolving (symbolic links followed) to a regular file inside the folder;
* an upload: bytes up to :data:`MAX_UPLOAD_BYTES`, of one of the formats gaia-stim reads
  (PNG, JPEG, BMP, TIFF), decoded in full by the project's own reader before it is kept; it is
  stored in the uploads folder under a name made from its bytes, so it is never replaced;
* an output folder: relative to the ``--out-root`` folder and resolving inside it.

A refused path raises :class:`PathRefused`, which carries the HTTP status the server answers
with (400 for a path that is malformed, 404 for one that is not a file inside the folder).
"""

import hashlib
import io
import os
import re
import tempfile

from PIL import Image, UnidentifiedImageError

from gaia_stim.core.errors import DataError, GaiaStimError, InputError
from gaia_stim.core.images import IMAGE_SUFFIXES, load_image

__all__ = [
    "MAX_UPLOAD_BYTES", "MAX_LISTED", "UPLOAD_FORMATS", "PathRefused", "relative_parts", "image_in_folder",
    "list_images", "save_upload", "output_folder",
]

# An upload is read into memory before it is checked; 25 MiB holds any photograph worth morphing.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# Thumbnails the page lists from one folder (a folder of a whole data set is sampled, not listed).
MAX_LISTED = 2000
# Pillow format -> the suffix an upload is stored with (what gaia-stim reads everywhere else).
UPLOAD_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif"}


class PathRefused(GaiaStimError):
    """A path from the page that may not be opened; ``status`` is the HTTP answer (400 or 404)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def relative_parts(text, what):
    """``text`` as the parts of a relative path with forward slashes, or PathRefused (400).

    Refused: not a string, empty, a NUL byte, a backslash, an absolute path or a drive letter,
    and ``.``, ``..`` or empty parts.
    """
    if not isinstance(text, str) or not text:
        raise PathRefused(f"{what} must be a relative path inside the folder; got {text!r}")
    if "\0" in text or "\\" in text:
        raise PathRefused(f"{what} {text!r} holds a NUL byte or a backslash; use forward slashes")
    if text.startswith("/") or os.path.isabs(text) or re.match(r"^[A-Za-z]:", text):
        raise PathRefused(f"{what} {text!r} is an absolute path; give a path relative to the folder")
    parts = text.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise PathRefused(f"{what} {text!r} leaves the folder or has empty parts ('..', '.', '//'); give a path"
                          " inside it")
    return parts


def _inside(root, parts):
    """The real path of ``root/parts``, and whether it lies inside the real ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, *parts))
    return real, real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def image_in_folder(folder, relative, what="image"):
    """The real path of the image file ``relative`` inside ``folder``.

    Raises
    ------
    PathRefused
        400: a malformed or escaping path (see :func:`relative_parts`); 404: no such file inside the
        folder, including a symbolic link that leads out of it.
    """
    parts = relative_parts(relative, what)
    real, inside = _inside(folder, parts)
    if not inside:
        raise PathRefused(f"{what} {relative!r} is a link to a file outside the folder; only files inside it are"
                          " served", status=404)
    if not os.path.isfile(real):
        raise PathRefused(f"{what} {relative!r} is not a file in the folder", status=404)
    if not parts[-1].lower().endswith(IMAGE_SUFFIXES):
        raise PathRefused(f"{what} {relative!r} is not an image file ({', '.join(IMAGE_SUFFIXES)})", status=404)
    return real


def list_images(folder, limit=MAX_LISTED):
    """Image files inside ``folder`` as relative paths (sorted; hidden files and links out skipped).

    Returns
    -------
    names : list of str
        At most ``limit`` of them.
    truncated : bool
        More were there.
    """
    names = []
    real_root = os.path.realpath(folder)
    for root, dirs, files in os.walk(real_root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            relative = os.path.relpath(os.path.join(root, name), real_root).replace(os.sep, "/")
            real, inside = _inside(real_root, relative.split("/"))
            if inside and os.path.isfile(real):
                names.append(relative)
    names.sort()
    return names[:limit], len(names) > limit


def _safe_stem(name):
    stem = os.path.splitext(os.path.basename(str(name)))[0]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).strip("._")[:60]
    return stem or "upload"


def save_upload(folder, name, data, image_size=64, channels=3):
    """Check an uploaded image and keep it in ``folder``; returns the stored file's name.

    The bytes must be at most :data:`MAX_UPLOAD_BYTES`, in one of :data:`UPLOAD_FORMATS`, and
    decode in full with the project's reader (:func:`gaia_stim.core.images.load_image`: size
    limits, damaged files, odd modes). The file is stored as ``<name>_<sha256[:12]><suffix>``:
    the same bytes give the same file, and a stored file is never replaced.

    Raises
    ------
    InputError
        Too large, or not an image of those formats.
    DataError
        An image that cannot be decoded correctly (the message says why).
    """
    shown = _safe_stem(name)
    if len(data) == 0:
        raise InputError(f"upload {shown!r} is empty; choose an image file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"upload {shown!r} is {len(data) / 2**20:.1f} MiB, more than the"
                         f" {MAX_UPLOAD_BYTES // 2**20} MiB accepted; shrink it (e.g. to 1024 px)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InputError(f"upload {shown!r} is not an image Pillow can read; give a PNG, JPEG, BMP or TIFF"
                         " file") from None
    suffix = UPLOAD_FORMATS.get(image_format)
    if suffix is None:
        raise InputError(f"upload {shown!r} is a {image_format} image; give a PNG, JPEG, BMP or TIFF file")
    digest = hashlib.sha256(data).hexdigest()
    stored = f"{shown}_{digest[:12]}{suffix}"
    path = os.path.join(folder, stored)
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            if hashlib.sha256(handle.read()).hexdigest() == digest:
                return stored
        raise InputError(f"{path!r} exists with other bytes than its name says (was it edited?); move it away")
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{stored}.", suffix=".upload", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        try:
            load_image(temporary, image_size, channels)  # decodes every pixel; refuses damaged files
        except DataError as error:
            message = str(error).replace(repr(temporary), repr(shown + suffix))
            raise DataError(f"upload {shown!r} cannot be used: {message}") from None
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return stored


def output_folder(root, relative):
    """The folder ``relative`` inside the output root ``root``, for a stimulus set to be written to.

    Raises
    ------
    PathRefused
        A malformed or absolute path, ``..``, or a path through a symbolic link (which could lead
        out of ``root``, now or later).
    """
    parts = relative_parts(relative, "output folder")
    real_root = os.path.realpath(root)
    target = os.path.join(real_root, *parts)
    # realpath follows every link along the existing part of the path; any difference is a link
    if os.path.realpath(target) != target:
        raise PathRefused(f"output folder {relative!r} goes through a symbolic link; give a plain folder inside"
                          " the output root")
    return target
