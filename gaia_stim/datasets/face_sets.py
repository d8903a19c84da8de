"""Synthetic faces in memory (:func:`make_faces`) and on disk (:func:`write_faces`).

A face set is a folder written as a whole (:mod:`gaia_stim.core.ownership`): one PNG per face,
``attributes.csv`` (each face's file, id and parameters) and ``manifest.json`` (seed, size,
versions, every file's sha256). The same seed gives the same faces, and the same bytes.
"""

import json
import logging
import os
import shutil

import numpy as np
import pandas as pd

from gaia_stim._version import __version__
from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import InputError
from gaia_stim.core.ownership import MANIFEST_FILE, commit_folder, discard_folder, staging_folder
from gaia_stim.core.progress import progress_bar
from gaia_stim.datasets.face_parameters import PARAMETERS, SAMPLING, _as_generator, _check_count, sample_parameters
from gaia_stim.datasets.face_render import _check_size, _chunk_length, render

__all__ = ["FACE_SET_FORMAT", "make_faces", "write_faces"]

logger = logging.getLogger(__name__)


def _to_uint8(images):
    return np.round(images * 255.0).astype(np.uint8)


def _face_ids(start, stop):
    return [f"face_{index:05d}" for index in range(start, stop)]


def _parameter_table(params, start=0):
    table = pd.DataFrame(params, columns=list(PARAMETERS))
    table.insert(0, "face_id", _face_ids(start, start + len(params)))
    return table


def make_faces(n, size=64, seed=0):
    """Sample and render ``n`` random faces.

    Parameters
    ----------
    n : int
        Number of faces, at least 1.
    size : int, default=64
        Image width and height in pixels, 16 to 512.
    seed : int, default=0
        Seed of the parameter sampling; the same seed gives the same faces.

    Returns
    -------
    dict
        ``images``: uint8 ndarray of shape (n, size, size, 3);
        ``parameters``: DataFrame with a text column ``face_id`` (``"face_00000"``, ...) and
        one float column per name in :data:`PARAMETERS`;
        ``seed``, ``size``: as given; ``parameter_names``: :data:`PARAMETERS` as a list;
        ``sampling``: a description of the sampling distribution.

    Raises
    ------
    InputError
        If ``n``, ``size`` or ``seed`` is invalid.

    Examples
    --------
    >>> faces = make_faces(8, size=32, seed=1)
    >>> faces["images"].shape, list(faces["parameters"].columns[:2])
    ((8, 32, 32, 3), ['face_id', 'head_width'])
    """
    n = _check_count(n)
    size = _check_size(size)
    params = sample_parameters(n, _as_generator(seed))
    return {
        "images": _to_uint8(render(params, size)),
        "parameters": _parameter_table(params),
        "seed": seed,
        "size": size,
        "parameter_names": list(PARAMETERS),
        "sampling": SAMPLING,
    }


FACE_SET_FORMAT = "gaia-stim face set"


def _check_disk_space(folder, n, n_written, bytes_per_face):
    """Refuse, before writing on, a face set whose remaining faces cannot fit on the disk (10 % margin)."""
    needed = int((n - n_written) * bytes_per_face * 1.1) + (1 << 20)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise InputError(
            f"{n} faces need about {n * bytes_per_face / 2**30:.1f} GiB ({bytes_per_face / 1024:.1f} KiB each)"
            f" but only {free / 2**30:.1f} GiB is free there; lower --n or choose another --out"
        )


def write_faces(out_dir, n, size=64, seed=0, force=False, progress=False):
    """Write ``n`` random faces as PNG files plus ``attributes.csv`` and ``manifest.json``.

    The folder holds ``face_00000.png``, ``face_00001.png``, ... and ``attributes.csv`` with
    the columns ``file`` (relative file name), ``face_id`` and one column per parameter, and a
    ``manifest.json`` (seed, size, versions, every file's sha256). The faces are those of
    ``make_faces(n, size, seed)``. They are drawn, rendered and written in chunks, so memory
    does not grow with ``n``; the disk space a set needs is checked after the first chunk.
    The folder is written into a temporary sibling and renamed into place, so it never
    exists half-written; the same arguments give byte-identical images and table.

    Parameters
    ----------
    out_dir : str or path-like
        Folder to create.
    n : int
        Number of faces, at least 1.
    size : int, default=64
        Image width and height in pixels, 16 to 512.
    seed : int, default=0
        Seed of the parameter sampling.
    force : bool, default=False
        Replace ``out_dir`` if it is a face set that gaia-stim wrote and that holds nothing
        else; other non-empty folders are never replaced.
    progress : bool, default=False
        Show a progress bar on stderr (only when stderr is a terminal).

    Returns
    -------
    str
        The path of the folder written.

    Raises
    ------
    OutputExistsError
        If ``out_dir`` exists and is not empty and ``force`` is false, or is not a face set.
    InputError
        If ``n``, ``size`` or ``seed`` is invalid, or the set would not fit on the disk.
    """
    from PIL import Image

    n = _check_count(n)
    size = _check_size(size)
    generator = _as_generator(seed)
    out_dir, staging = staging_folder(out_dir, force, FACE_SET_FORMAT, "gaia-stim face set")
    try:
        step = _chunk_length(size)
        files = []
        table_path = os.path.join(staging, "attributes.csv")
        with open(table_path, "w", newline="") as table, progress_bar(
            total=n, description="drawing faces", unit="face", enabled=progress
        ) as bar:
            for start in range(0, n, step):
                # one generator drawn chunk after chunk gives the same numbers as one draw of n
                params = sample_parameters(min(step, n - start), generator)
                chunk = _parameter_table(params, start)
                names = [f"{face_id}.png" for face_id in chunk["face_id"]]
                for name, image in zip(names, _to_uint8(render(params, size))):
                    path = os.path.join(staging, name)
                    Image.fromarray(image).save(path)
                    files.append({"file": name, "sha256": file_sha256(path)})
                if start == 0 and n > step:
                    written = sum(os.path.getsize(os.path.join(staging, name)) for name in names)
                    _check_disk_space(staging, n, len(names), written / len(names) + 300)
                chunk.insert(0, "file", names)
                chunk.to_csv(table, index=False, header=start == 0)
                bar.update(len(names))
        files.append({"file": "attributes.csv", "sha256": file_sha256(table_path)})
        manifest = {
            "format": FACE_SET_FORMAT,
            "format_version": 1,
            "gaia_stim_version": __version__,
            "parameters": {"n": n, "size": size, "seed": int(seed) if isinstance(seed, (int, np.integer)) else None, "sampling": SAMPLING},
            "files": files,
        }
        with open(os.path.join(staging, MANIFEST_FILE), "w", encoding="utf-8") as stream:
            json.dump(manifest, stream, indent=2)
            stream.write("\n")
        commit_folder(staging, out_dir, force, FACE_SET_FORMAT, "gaia-stim face set")
    except BaseException:
        discard_folder(staging)
        raise
    logger.info("wrote %d faces of %d px to %s", n, size, out_dir)
    return out_dir
