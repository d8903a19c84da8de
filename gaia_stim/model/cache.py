"""Image caches: a training set prepared once into one uint8 file, read a batch at a time.

``gaia-stim prepare DIR --out CACHE`` decodes every image of ``DIR`` once (as training
reads it: :func:`gaia_stim.core.images.load_image`) and writes::

    CACHE/images.npy     uint8 array (N, S, S, C); ``numpy.load(path, mmap_mode="r")`` maps it
    CACHE/sources.txt    the image files, one per line, in the array's order (relative to DIR)
    CACHE/manifest.json  format, shape, the images' fingerprint, and DIR's listing fingerprint

``gaia-stim train --data CACHE`` then holds none of the images in memory: each batch is read
from the file with positioned reads (:class:`ImageCache`). The pages it touches stay in the
operating system's file cache, which gives them back under memory pressure, and not in the
process (a memory map would count every page touched in an epoch as the process's own).

A cache is refused when it no longer matches its source: when ``DIR`` still exists and its
listing (relative paths, sizes, modification times) has changed since the cache was prepared,
when ``images.npy`` is not as long as the manifest says, or when its image size or channels are
not the model's. The images' fingerprint is the one :func:`gaia_stim.model.trainer.data_fingerprint`
gives the same array in memory, so a run started on ``DIR`` can be continued on its cache.
"""

import hashlib
import json
import logging
import os
import shutil
import threading

import numpy as np

from gaia_stim._version import __version__
from gaia_stim.core.errors import DataError, InputError, OutputExistsError
from gaia_stim.core.atomic import remove_leftovers, temporary_name
from gaia_stim.core.progress import progress_bar
from gaia_stim.core.schemas import Equals, Items, Record, SchemaProblem, Sha256, Text, Whole, load_json

__all__ = ["CACHE_FORMAT", "ImageCache", "is_cache", "prepare_cache", "write_cache", "listing_fingerprint"]

logger = logging.getLogger(__name__)

CACHE_FORMAT = "gaia-stim-image-cache"
FORMAT_VERSION = 1
_MANIFEST, _IMAGES, _SOURCES = "manifest.json", "images.npy", "sources.txt"

# A cache's manifest, checked like the options of ``gaia-stim prepare`` that made it.
CACHE_MANIFEST = Record({
    "format": Equals(CACHE_FORMAT),
    "format_version": Whole(1),
    "gaia_stim_version": Text(),
    "shape": Items(Whole(1), Whole(16, 1024, option="--image-size"), Whole(16, 1024, option="--image-size"),
                   Whole(choices=(1, 3), option="--channels")),
    "data_fingerprint": Sha256(),
    "source": Record({"folder": Text(), "n_files": Whole(0), "listing_fingerprint": Sha256()}, optional=True),
}, optional=("format_version", "gaia_stim_version", "source"))


def _checked_manifest(path):
    """The cache manifest at ``path``, checked (DataError naming the field and the fix)."""
    manifest = load_json(path, "cache manifest", fix="prepare the cache again")
    try:
        manifest = CACHE_MANIFEST.check(manifest, "", {})
        if manifest["shape"][1] != manifest["shape"][2]:
            raise SchemaProblem("shape", f"is {manifest['shape']}: the images are not square")
    except SchemaProblem as problem:
        raise DataError(f"cache manifest {_quote(path)}: {problem}; it was damaged or edited: prepare the cache"
                        " again") from None
    return manifest


def is_cache(path):
    """True if ``path`` is a folder holding a cache: its images file, or a manifest of this format.

    Other folders keep a manifest.json too (face sets, stimulus sets); they are image folders.
    """
    folder = os.fspath(path)
    if os.path.isfile(os.path.join(folder, _IMAGES)):
        return True
    try:
        with open(os.path.join(folder, _MANIFEST), encoding="utf-8") as stream:
            return json.load(stream).get("format") == CACHE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def listing_fingerprint(folder, paths):
    """sha256 of the relative path, size and modification time of each file: changes when the folder does."""
    digest = hashlib.sha256()
    for path in paths:
        status = os.stat(path)
        digest.update(f"{os.path.relpath(path, folder)}\0{status.st_size}\0{status.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _quote(path):
    return repr(os.fsdecode(path))


def write_cache(out, images, n_images, image_size, channels, source=None, names=None, force=False, progress=False):
    """Write a cache from an iterable of ``n_images`` uint8 arrays (S, S, C) (or batches (k, S, S, C)).

    ``source`` is a dict stored in the manifest (the folder and its listing fingerprint, for
    caches of a folder); ``names``, the images' file names, go to ``sources.txt``. The cache is written to a temporary sibling and renamed into place,
    so it is whole or absent. Returns the cache folder.
    """
    out = os.path.abspath(os.fspath(out))
    if os.path.lexists(out):
        if not force:
            raise OutputExistsError(f"--out {_quote(out)} exists; choose another folder or add --force to replace it")
        _check_cache_owned(out)
    parent, name = os.path.split(out)
    os.makedirs(parent, exist_ok=True)
    remove_leftovers(out)
    temporary = os.path.join(parent, temporary_name(name))
    shape = (int(n_images), int(image_size), int(image_size), int(channels))
    try:
        os.mkdir(temporary)
        digest = hashlib.sha256(str(shape).encode())  # as trainer.data_fingerprint
        written = 0
        with open(os.path.join(temporary, _IMAGES), "wb") as stream:
            np.lib.format.write_array_header_1_0(stream, {"descr": "|u1", "fortran_order": False, "shape": shape})
            for array in progress_bar(images, n_images, "preparing images", "img", enabled=progress):
                array = np.ascontiguousarray(array, dtype=np.uint8)
                if array.shape[-3:] != shape[1:]:
                    raise InputError(f"an image of shape {array.shape[-3:]} does not fit a cache of {shape[1:]}")
                digest.update(array.data)
                stream.write(array.data)
                written += 1 if array.ndim == 3 else array.shape[0]
            stream.flush()
            os.fsync(stream.fileno())
        if written != n_images:
            raise InputError(f"{written} images were given for a cache of {n_images}")
        manifest = {
            "format": CACHE_FORMAT, "format_version": FORMAT_VERSION, "gaia_stim_version": __version__,
            "shape": list(shape), "data_fingerprint": digest.hexdigest(), "source": source or {},
        }
        with open(os.path.join(temporary, _MANIFEST), "w") as stream:
            json.dump(manifest, stream, indent=2)
            stream.write("\n")
        if names is not None:
            with open(os.path.join(temporary, _SOURCES), "w", encoding="utf-8", errors="surrogateescape") as stream:
                stream.writelines(name + "\n" for name in names)
        if os.path.lexists(out):
            shutil.rmtree(out)
        os.rename(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out


def _check_cache_owned(out):
    """Refuse to replace ``out`` unless it is a cache gaia-stim wrote and holds nothing else.

    A cache is its manifest (of the cache format), its images file (as long as the manifest's
    shape says) and optionally its list of sources; a user's own file in the folder, or a folder
    that merely holds an ``images.npy``, is never deleted.
    """
    if os.path.islink(out) or not os.path.isdir(out):
        raise OutputExistsError(f"--out {_quote(out)} exists and is not an image cache folder; choose another folder")
    remove_leftovers(os.path.join(out, _IMAGES))
    others = sorted(set(os.listdir(out)) - {_MANIFEST, _IMAGES, _SOURCES})
    if others:
        shown = ", ".join(repr(name) for name in others[:3]) + (", ..." if len(others) > 3 else "")
        raise OutputExistsError(
            f"--out {_quote(out)} is not an image cache that gaia-stim wrote: it holds files that are not part of one"
            f" ({shown}); it was left as it is: choose another folder, or move those files out"
        )
    try:
        shape = _checked_manifest(os.path.join(out, _MANIFEST))["shape"]
        images = os.path.join(out, _IMAGES)
        owned = (os.path.isfile(images) and not os.path.islink(images)
                 and os.path.getsize(images) >= int(np.prod(shape)))
    except (OSError, DataError):
        owned = False
    if not owned:
        raise OutputExistsError(
            f"--out {_quote(out)} is not an image cache that gaia-stim wrote (no valid cache manifest and images"
            " file); it was left as it is: choose another folder"
        )


def prepare_cache(folder, out, image_size, channels, force=False, progress=False):
    """Decode every image under ``folder`` once, as training does, into a cache at ``out``."""
    from gaia_stim.core.images import IMAGE_SUFFIXES, find_images, load_image

    folder = os.path.abspath(os.fspath(folder))
    paths = find_images(folder)
    if not paths:
        raise DataError(f"no images in {_quote(folder)}; put PNG, JPEG, BMP or TIFF files in it ({', '.join(IMAGE_SUFFIXES)})")
    target = os.path.realpath(os.fspath(out))
    real_folder = os.path.realpath(folder)
    if target == real_folder or target.startswith(real_folder + os.sep):
        raise InputError(f"--out {_quote(out)} is the image folder itself or inside the image folder; choose a folder"
                         f" outside {_quote(folder)}")
    if real_folder.startswith(target + os.sep):
        raise InputError(f"--out {_quote(out)} holds the image folder {_quote(folder)}; choose a folder outside it")
    source = {"folder": folder, "n_files": len(paths), "listing_fingerprint": listing_fingerprint(folder, paths)}

    def decoded():
        for path in paths:
            # as load_image_folder converts prepared images, so both give the same bytes
            yield np.round(load_image(path, image_size, channels).pixels * 255.0).astype(np.uint8)

    names = [os.path.relpath(path, folder) for path in paths]
    return write_cache(out, decoded(), len(paths), image_size, channels, source=source, names=names, force=force,
                       progress=progress)


class ImageCache:
    """The images of a cache, read from disk a batch at a time; indexed like a uint8 array.

    ``cache[indices]`` (an int, a slice, or an int array) returns a new array. ``shape``,
    ``dtype`` and ``fingerprint`` (see :func:`gaia_stim.model.trainer.data_fingerprint`)
    describe the whole set without reading it.
    """

    def __init__(self, folder):
        self.folder = os.path.abspath(os.fspath(folder))
        manifest = self._read_manifest()
        self.shape = tuple(manifest["shape"])
        self.dtype = np.dtype(np.uint8)
        self.fingerprint = manifest["data_fingerprint"]
        self.source = manifest.get("source") or {}
        path = os.path.join(self.folder, _IMAGES)
        self._file = open(path, "rb")
        self._lock = threading.Lock()
        try:
            version = np.lib.format.read_magic(self._file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            header = read_header(self._file)
            self._offset = self._file.tell()
        except (ValueError, OSError) as error:
            self._file.close()
            raise DataError(f"{_quote(path)} is damaged ({error}); prepare the cache again") from None
        self._image_bytes = int(np.prod(self.shape[1:]))
        expected = self._offset + self.shape[0] * self._image_bytes
        size = os.fstat(self._file.fileno()).st_size
        if header != (self.shape, False, np.dtype(np.uint8)) or size != expected:
            self._file.close()
            raise DataError(
                f"{_quote(path)} holds {size:,} bytes, not the {expected:,} of the {self.shape} images its manifest"
                " names (an incomplete copy?); copy the cache again or prepare it again"
            )
        self._check_source()

    def _read_manifest(self):
        path = os.path.join(self.folder, _MANIFEST)
        try:
            with open(path, encoding="utf-8") as stream:
                is_cache_manifest = json.load(stream).get("format") == CACHE_FORMAT
        except (OSError, ValueError, AttributeError):
            is_cache_manifest = False
        if not is_cache_manifest:
            raise DataError(f"{_quote(path)} is not a gaia-stim image cache manifest; prepare the cache again")
        manifest = _checked_manifest(path)
        if manifest.get("format_version", 0) > FORMAT_VERSION:
            raise DataError(f"the cache {_quote(self.folder)} was written by a newer gaia-stim; upgrade to read it")
        return manifest

    def _check_source(self):
        """Refuse a cache whose source folder has changed since it was prepared."""
        from gaia_stim.core.images import find_images

        folder = self.source.get("folder")
        if not folder or not os.path.isdir(folder):
            if folder:
                logger.info("the source folder %s of cache %s is gone; using the cache as it is", folder, self.folder)
            return
        paths = find_images(folder)
        if listing_fingerprint(folder, paths) != self.source.get("listing_fingerprint"):
            raise DataError(
                f"the cache {_quote(self.folder)} is stale: {_quote(folder)} has changed since it was prepared"
                f" ({len(paths)} images now, {self.source.get('n_files')} then, or files replaced); prepare it"
                f" again: gaia-stim prepare {_quote(folder)} --out {_quote(self.folder)} --force"
            )

    def check_size(self, image_size, channels):
        """Raise InputError unless the cache holds images of ``image_size`` and ``channels``."""
        if self.shape[1:] != (image_size, image_size, channels):
            size, _, held = self.shape[1:]
            raise InputError(
                f"the cache {_quote(self.folder)} holds {size}x{size} images with {held} channels; the model needs"
                f" {image_size}x{image_size} with {channels}: prepare a cache with --image-size {image_size}"
                f" --channels {channels}, or train at --image-size {size} --channels {held}"
            )

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        single = np.ndim(index) == 0 and not isinstance(index, slice)
        indices = np.arange(self.shape[0])[index] if isinstance(index, slice) else np.atleast_1d(index)
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise IndexError(f"images are indexed by integers; got {indices.dtype}")
        indices = np.where(indices < 0, indices + self.shape[0], indices)
        if indices.size and (indices.min() < 0 or indices.max() >= self.shape[0]):
            raise IndexError(f"image index out of range for a cache of {self.shape[0]} images")
        out = np.empty((indices.size, *self.shape[1:]), dtype=np.uint8)
        rows = out.reshape(indices.size, self._image_bytes)
        for position in np.argsort(indices, kind="stable"):  # in file order: read-ahead helps
            offset = self._offset + int(indices[position]) * self._image_bytes
            if self._read(rows[position], offset) != self._image_bytes:
                raise DataError(f"{_quote(self.folder)}: images.npy ended early; prepare the cache again")
        return out[0] if single else out

    def _read(self, row, offset):
        if hasattr(os, "preadv"):  # positioned: safe from several threads at once
            return os.preadv(self._file.fileno(), [memoryview(row)], offset)
        with self._lock:  # Windows
            self._file.seek(offset)
            return self._file.readinto(memoryview(row))

    def close(self):
        self._file.close()

    def __del__(self):
        if hasattr(self, "_file"):
            self._file.close()
