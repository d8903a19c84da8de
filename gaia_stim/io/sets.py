"""Stimulus sets on disk: the one writer for every kind of stimulus, and the check that a set is intact.

A stimulus set is one self-contained folder (docs/design.md, section 4)::

    my_set/
        images/...png                 one 8-bit PNG per stimulus
        sources/given/a_face.png      each source image as given (an array: a_array.npy)
        sources/prepared/a.png        each source as prepared for the model (size, channels)
        stimuli.csv                   one row per image; every path in it is relative to it
        manifest.json                 versions, model sha256, every parameter, every file's sha256
        contact_sheet.png             a labelled overview
        morph.gif                     (optional) the images as a movie

The folder is built in a hidden temporary sibling and renamed into place
(:mod:`gaia_stim.core.ownership`), so it never exists half-written. Images are streamed: a set
given as latents is decoded, adjusted and written a batch at a time, so a 10,000-image grid
never sits in memory. Given the same inputs every file but the manifest (its ``created_utc``
and ``environment``) is byte-identical; :func:`gaia_stim.stimuli.regenerate.regenerate_set` checks
exactly that, comparing two sets with :func:`compare_sets`.

:func:`write_set` writes a :class:`~gaia_stim.io.results.StimulusResult`, what every kind of
:mod:`gaia_stim.stimuli` returns, after checking it; :func:`write_stimulus_set` is the lower-level
writer for images and rows made by other code. :func:`verify_set` checks a set against its manifest
with file checks alone: nothing here loads a model.
"""

import hashlib
import json
import logging
import os
import platform
import re
import shutil
import sys
from datetime import datetime, timezone

import numpy as np
from PIL import Image

from gaia_stim._version import __version__
from gaia_stim.core.atomic import atomic_write, file_sha256
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.images import display_pixels
from gaia_stim.core.ownership import (
    MANIFEST_FILE,
    check_output_file,
    commit_folder,
    discard_folder,
    manifest_files,
    staging_folder,
)
from gaia_stim.core.progress import progress_bar
from gaia_stim.core.schemas import (
    Equals,
    InsidePath,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Record,
    SchemaProblem,
    Sha256,
    Text,
    Whole,
)
from gaia_stim.io.images import luminance, save_png, to_uint8
from gaia_stim.io.results import StimulusResult, json_default
from gaia_stim.io.sheets import contact_sheet, sheet_layout
from gaia_stim.io.tables import check_table, read_table, table_bytes, text_cell

__all__ = [
    "TABLE_FILE",
    "MANIFEST_FILE",
    "CONTACT_SHEET_FILE",
    "IMAGE_FOLDER",
    "SOURCE_FOLDER",
    "FORMAT_NAME",
    "LatentImages",
    "write_stimulus_set",
    "write_set",
    "verify_set",
    "read_manifest",
    "compare_sets",
    "report_paths",
]

logger = logging.getLogger(__name__)

TABLE_FILE = "stimuli.csv"
CONTACT_SHEET_FILE = "contact_sheet.png"
IMAGE_FOLDER = "images"
SOURCE_FOLDER = "sources"
FORMAT_NAME = "gaia-stim stimulus set"
FORMAT_VERSION = 2
_WHAT = "gaia-stim stimulus set"
_RESERVED_FILES = {TABLE_FILE, MANIFEST_FILE, CONTACT_SHEET_FILE}
_BATCH = 256
# Manifest entries that legitimately differ between two writes of the same set.
_UNSTABLE = ("created_utc", "environment")


class LatentImages:
    """Images that are decoded when written, a batch at a time: ``model.decode(latents[i:i+batch])``."""

    def __init__(self, model, latents, batch_size=_BATCH):
        self.model, self.latents, self.batch_size = model, np.asarray(latents, dtype=np.float32), batch_size

    def __len__(self):
        return len(self.latents)

    def batches(self):
        for start in range(0, len(self.latents), self.batch_size):
            yield np.asarray(self.model.decode(self.latents[start : start + self.batch_size]), dtype=np.float32)


def _batches(images, description=None):
    """``images`` a batch at a time (LatentImages decoded as they go), with a progress bar if ``description``."""
    if isinstance(images, LatentImages):
        batches = images.batches()
    else:
        batches = (images[start : start + _BATCH] for start in range(0, len(images), _BATCH))
    if description is None:
        yield from batches
        return
    with progress_bar(total=len(images), description=description, unit="img") as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))


# --------------------------------------------------------------------------------------------
# checks and records


def _check_image_file(name):
    if not isinstance(name, str) or not name:
        raise InputError(f"image_file must be a non-empty relative path; got {name!r}")
    parts = name.split("/")
    if (
        "\\" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or any(part in ("", ".", "..") for part in parts)
        or not name.lower().endswith(".png")
    ):
        raise InputError(
            f"image_file {name!r} must be a relative path with forward slashes, inside the set,"
            " ending in .png (e.g. 'images/step_00.png')"
        )
    if name in _RESERVED_FILES or parts[0] == SOURCE_FOLDER:
        raise InputError(f"image_file {name!r} clashes with the set's own files")


def _environment():
    environment = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pillow": Image.__version__,
        "platform": platform.platform(terse=True),
    }
    torch = sys.modules.get("torch")  # only if already imported: importing torch takes seconds
    if torch is not None:
        environment["torch"] = getattr(torch, "__version__", "unknown")
    return environment


def _model_record(model):
    record = {}
    for key, attribute in [
        ("name", "name"),
        ("file_sha256", "file_sha256"),
        ("path", "path"),
        ("preset", "preset"),
        ("trained_with_gaia_stim", "version"),
        ("image_size", "image_size"),
        ("channels", "channels"),
        ("latent_dim", "latent_dim"),
        ("device", "device"),
    ]:
        value = getattr(model, attribute, None)
        record[key] = value if value is None or isinstance(value, (int, float, str)) else str(value)
    return record


def _safe_name(name):
    """A file name kept readable and portable: letters, digits, '.', '-' and '_' only."""
    text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "image"


def source_name(source):
    """The name a source is shown by: the file's base name, or ``"array"``."""
    if isinstance(source, str) and source == "array":
        return "array"
    return os.path.basename(os.fspath(source)).encode("utf-8", "backslashreplace").decode("utf-8")


def _source_files(source):
    """(given file, prepared file) of one source record, relative to the set."""
    role = source["role"]
    if isinstance(source["given"], (str, os.PathLike)):
        given = f"{role}_{_safe_name(os.path.basename(os.fspath(source['source'])))}"
    else:
        given = f"{role}_array.npy"
    return f"{SOURCE_FOLDER}/given/{given}", f"{SOURCE_FOLDER}/prepared/{role}.png"


def source_columns(sources):
    """The table columns that name each source's copies in the set: ``source_<role>``, ``prepared_<role>``."""
    columns = {}
    for source in sources:
        given_file, prepared_file = _source_files(source)
        columns[f"source_{source['role']}"] = given_file
        columns[f"prepared_{source['role']}"] = prepared_file
    return columns


def _write_sources(temporary, sources):
    records = []
    for source in sources:
        given_file, prepared_file = _source_files(source)
        given_path = os.path.join(temporary, *given_file.split("/"))
        prepared_path = os.path.join(temporary, *prepared_file.split("/"))
        os.makedirs(os.path.dirname(given_path), exist_ok=True)
        os.makedirs(os.path.dirname(prepared_path), exist_ok=True)
        if isinstance(source["given"], (str, os.PathLike)):
            shutil.copyfile(source["given"], given_path)
        else:
            np.save(given_path, np.asarray(source["given"]), allow_pickle=False)
        save_png(to_uint8(np.asarray(source["prepared"])[None])[0], prepared_path)
        records.append(
            {
                "role": source["role"],
                "source": os.fspath(source["source"]),
                "sha256": source["sha256"],
                "changes": list(source["changes"]),
                "given_file": given_file,
                "prepared_file": prepared_file,
                **({"reconstruction_ssim": round(float(source["reconstruction_ssim"]), 4)}
                   if source.get("reconstruction_ssim") is not None else {}),
            }
        )
    return records


# --------------------------------------------------------------------------------------------
# writers


def write_stimulus_set(
    out_dir,
    images,
    rows,
    parameters,
    model,
    *,
    force=False,
    kind="stimulus set",
    inputs=(),
    labels=None,
    sheet_columns=None,
    sheet_title=None,
    sources=(),
    adjust=None,
    movie=None,
    summary=None,
    source_band=True,
):
    """Write images, ``stimuli.csv``, ``manifest.json``, ``contact_sheet.png`` (and sources) as one folder.

    Parameters
    ----------
    out_dir : str or path-like
        The folder to create. Its parent is created if missing.
    images : ndarray of shape (n_images, H, W, C), C in {1, 3}, or LatentImages
        uint8, or float in [0, 1] (rounded to 8 bits); :class:`LatentImages` are decoded a batch at
        a time while they are written.
    rows : list of dict
        One dict per image, all with the same keys in the same order; these are the CSV columns.
        ``row["image_file"]`` is where that image is written: a relative path with forward
        slashes ending in ``.png`` (e.g. ``"images/step_00.png"``). Cells are int, float, bool or
        str; text must not look like a number (see :func:`gaia_stim.io.tables.text_cell`). The
        writer adds ``mean_luminance`` and ``rms_contrast`` of each written image (the whole
        frame) and, when ``adjust`` splits figures from backgrounds, ``figure_luminance`` and
        ``figure_rms_contrast`` (the figure inside the mask; see :mod:`gaia_stim.stimuli.lowlevel`).
    parameters : dict
        Every parameter that produced the images (and the seed, if any); stored in the manifest.
    model : object
        The model used; its ``name``, ``file_sha256``, ``path``, ``preset``, ``version``,
        ``image_size``, ``channels``, ``latent_dim`` go into the manifest.
    force : bool, default=False
        Replace an existing stimulus set at ``out_dir`` (only once the new one is complete).
    kind : str, default="stimulus set"
        What the set is, e.g. ``"continuum"``; ``gaia-stim verify --regenerate`` rebuilds the kinds
        of :data:`gaia_stim.stimuli.KINDS`.
    inputs : sequence of dict, default=()
        Records of input images not given as ``sources``.
    labels : list of str, optional
        Contact-sheet label per image; defaults to the image file names.
    sheet_columns : int, optional
        Images per contact-sheet row (a grid's columns); by default at most 11, rows balanced.
    sheet_title : str, optional
        A line above the contact sheet.
    sources : sequence of dict, default=()
        Source images (``role``, ``source``, ``given`` path or array, ``prepared`` pixels,
        ``sha256``, ``changes``), copied into ``sources/``.
    adjust : gaia_stim.stimuli.lowlevel.Adjustment, optional
        Low-level control applied to every image before it is written.
    movie : {"gif", "mp4"}, optional
        Also write the images, in order, as ``morph.gif`` or ``morph.mp4``.
    summary : dict, optional
        Figures about the set (e.g. the step-distance CV) for the manifest.
    source_band : bool, default=True
        Show the sources above the steps on the contact sheet: each as given (whole, padded to a
        square) and, where its record holds one, as the model reconstructs it, labelled with the
        reconstruction's SSIM against the prepared source. Sets written before the band existed
        are regenerated without it.

    Returns
    -------
    str
        ``out_dir``.

    Raises
    ------
    OutputExistsError
        ``out_dir`` exists and ``force`` is False, or it exists but is not a stimulus set.
    InputError
        Rows and images disagree in number, or a row breaks the PsychoPy table rules.
    """
    n_images = len(images)
    rows = [dict(row) for row in rows]
    if len(rows) != n_images:
        raise InputError(f"got {n_images} images but {len(rows)} rows; give one row per image")
    # the figure's columns only where figures are split: tables of other sets keep their old bytes
    figure_columns = adjust is not None and adjust.splits_figure
    for row in rows:
        row.setdefault("mean_luminance", 0.0)
        row.setdefault("rms_contrast", 0.0)
        if figure_columns:
            row.setdefault("figure_luminance", 0.0)
            row.setdefault("figure_rms_contrast", 0.0)
    check_table(rows, required=("image_file",))  # refuse bad rows before any work is done
    image_files = [row["image_file"] for row in rows]
    for name in image_files:
        _check_image_file(name)
    if len(set(image_files)) != len(image_files):
        raise InputError("image_file names must be unique")
    if labels is None:
        labels = [name.rsplit("/", 1)[-1] for name in image_files]
    if len(labels) != n_images:
        raise InputError(f"got {n_images} images but {len(labels)} labels")
    sheet_indices, sheet_columns = sheet_layout(n_images, sheet_columns)
    shown = {index: position for position, index in enumerate(sheet_indices)}

    given_out_dir = out_dir
    out_dir, temporary = staging_folder(out_dir, force, FORMAT_NAME, _WHAT)
    try:
        source_records = _write_sources(temporary, sources)
        if adjust is not None:
            adjust = adjust.fitted(_batches(images))
        image_records, tiles, frames, shape, index = [], [None] * len(sheet_indices), [], None, 0
        rings = []  # each written image's outermost pixels: the ground the set stands on
        for batch in _batches(images, "writing images"):
            pixels, figures = to_uint8(batch), None
            if adjust is not None:
                pixels, figures = adjust.apply_with_figures(pixels)  # figures: (B, H, W) bool, or None
            shape = pixels.shape[1:]
            rings.extend(_border_ring(one) for one in pixels)
            grey = luminance(pixels) / 255.0  # (B, H, W)
            for position, (one, lum) in enumerate(zip(pixels, grey)):
                path = os.path.join(temporary, *image_files[index].split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                save_png(one, path)
                image_records.append({"file": image_files[index], "sha256": file_sha256(path)})
                rows[index]["mean_luminance"] = float(lum.mean())
                rows[index]["rms_contrast"] = float(lum.std())
                if figures is not None:
                    figure = lum[figures[position]]
                    rows[index]["figure_luminance"] = float(figure.mean())
                    rows[index]["figure_rms_contrast"] = float(figure.std())
                if index in shown:
                    tiles[shown[index]] = one
                if movie is not None:
                    frames.append(one)
                index += 1
        columns, kinds = check_table(rows, required=("image_file",))
        table = table_bytes(rows, columns, kinds)
        with open(os.path.join(temporary, TABLE_FILE), "wb") as handle:
            handle.write(table)

        sheet = contact_sheet(np.stack(tiles), [labels[i] for i in sheet_indices], sheet_columns, sheet_title)
        if source_band and sources:
            sheet = _above(_source_band(sources, tiles[0].shape[0]), sheet)
        sheet_path = os.path.join(temporary, CONTACT_SHEET_FILE)
        sheet.save(sheet_path, format="PNG")
        other_files = [{"file": record[key], "sha256": file_sha256(os.path.join(temporary, record[key]))}
                       for record in source_records for key in ("given_file", "prepared_file")]
        if movie is not None:
            from gaia_stim.io.movies import write_movie

            movie_file = write_movie(temporary, frames, movie)
            other_files.append({"file": movie_file, "sha256": file_sha256(os.path.join(temporary, movie_file))})

        table_sha256 = hashlib.sha256(table).hexdigest()
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "gaia_stim_version": __version__,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": _model_record(model),
            "parameters": parameters,
            "adjust": None if adjust is None else adjust.record(),
            "ground": _ground_record(adjust, rings),
            "movie": movie,
            "summary": summary or {},
            "inputs": source_records + list(inputs),
            "n_images": n_images,
            "image_shape": list(shape),
            "image_encoding": "8-bit PNG, model output in [0, 1] times 255, rounded",
            "table": {"file": TABLE_FILE, "sha256": table_sha256,
                      "columns": {name: kinds[name].__name__ for name in columns}},
            # "source_band" only where the band is drawn: sets written before it existed have no such key
            "contact_sheet": {"file": CONTACT_SHEET_FILE, "sha256": file_sha256(sheet_path),
                              **({"source_band": True} if source_band and sources else {})},
            "images": image_records,
            # every file of the set but this manifest: what --force may replace, and what verify checks
            "files": image_records + other_files
            + [{"file": TABLE_FILE, "sha256": table_sha256},
               {"file": CONTACT_SHEET_FILE, "sha256": file_sha256(sheet_path)}],
            "environment": _environment(),
        }
        with open(os.path.join(temporary, MANIFEST_FILE), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, default=json_default, allow_nan=False)
            handle.write("\n")

        commit_folder(temporary, out_dir, force, FORMAT_NAME, _WHAT)
    except BaseException:
        discard_folder(temporary)
        raise
    logger.info("wrote %d images to %s", n_images, out_dir)
    return os.fspath(given_out_dir)


# A border pixel within this many 8-bit levels of the border's median, on every channel, is plain
# ground: the threshold the figure split (stimuli/lowlevel.py) and the protocols' window grey use.
_PLAIN_LEVELS = 6


def _border_ring(image):
    """The outermost pixels of one (H, W, C) image, each once: (2 * (H + W) - 4, C)."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def _ground_record(adjust, rings):
    """The manifest's ``ground``: the grey the set's images stand on, as written.

    ``level`` is the grey (0..1, the 8-bit value written) the low-level control gave the ground,
    and ``covers`` which pixels have it (``"every pixel but the figure"``, or ``"every pixel
    outside the mask"`` when the images' own ground shows inside a mask); both are None when the
    images keep the ground the model drew, which need not be flat. ``border`` is measured on the
    written images in every case: the per-channel ``median`` (0..1) of their outermost pixels, the
    ``plain_share`` of those within 6/255 of it on every channel, and their ``spread`` (standard
    deviation, 0..1, the largest over the channels). The PsychoPy protocols set their window to
    ``level``; where it is None they measure the borders of the images a trial list shows, as for
    sets written before this record existed (see docs/lowlevel.md).
    """
    ring = np.concatenate(rings).astype(np.float64)  # (n_pixels, C), 0..255
    median = np.median(ring, axis=0)
    plain_share = float(np.mean(np.abs(ring - median).max(axis=-1) <= _PLAIN_LEVELS))
    level, covers = (None, None) if adjust is None else adjust.ground()
    return {"level": level, "covers": covers,
            "border": {"median": [float(value) / 255 for value in median], "plain_share": plain_share,
                       "spread": float(ring.std(axis=0).max()) / 255}}


def _source_band(sources, size):
    """The contact sheet's band of sources: each as given, then as the model draws it (with its SSIM).

    Both are shown at the size of the set's images (``size``), in colour; the model's drawing is its
    plain output, before any low-level control.
    """
    tiles, labels = [], []
    for source in sources:
        tiles.append(to_uint8(display_pixels(source["given"], size)[None])[0])
        labels.append(f"{source['role']}: as given")
        if source.get("reconstruction") is not None:
            tiles.append(to_uint8(display_pixels(np.asarray(source["reconstruction"]), size)[None])[0])
            ssim = source.get("reconstruction_ssim")
            labels.append(f"{source['role']}: model" if ssim is None else f"{source['role']}: SSIM {ssim:.3f}")
    return contact_sheet(np.stack(tiles), labels, len(tiles), "sources, as given and through the model")


def _above(top, bottom):
    """Two sheets stacked, left-aligned on white."""
    sheet = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height), (255, 255, 255))
    sheet.paste(top.convert("RGB"), (0, 0))
    sheet.paste(bottom.convert("RGB"), (0, top.height))
    return sheet


def report_paths(out_dir, suffixes):
    """``{suffix: path}`` of the files written beside the set ``out_dir`` (``OUT.leakage.csv`` ...)."""
    base = os.path.abspath(os.fspath(out_dir)).rstrip(os.sep)
    return {suffix: base + suffix for suffix in suffixes}


def _report_recorded(out_dir, kind, key, path):
    """True if the ``kind`` set at ``out_dir`` records ``path`` (beside it) with its present bytes."""
    try:
        with open(os.path.join(os.fspath(out_dir), MANIFEST_FILE), encoding="utf-8") as stream:
            manifest = json.load(stream)
        recorded = manifest["summary"][key][os.path.basename(path)]
        return manifest.get("kind") == kind and recorded == file_sha256(path)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_set(out_dir, result, model, force=False, adjust=None, movie=None, source_band=True):
    """Write a :class:`~gaia_stim.io.results.StimulusResult` as a stimulus set (and its reports beside it).

    The result is checked first (:meth:`~gaia_stim.io.results.StimulusResult.check`). The table's
    columns: ``image_file``, the result's own columns (e.g. ``step``, ``morph_level``,
    ``distance_pixel``), ``source_<role>`` and ``prepared_<role>`` (the set's copies of each source
    image, as given and as prepared), the result's measurements (if any), ``model`` (unless the
    result has no model column), ``mean_luminance`` and ``rms_contrast`` (and ``figure_luminance``
    and ``figure_rms_contrast`` when ``adjust`` splits figures from backgrounds).

    The result's reports are written beside the set, ``OUT + suffix``, once the set is in place;
    the manifest's summary records their sha256. An existing report is replaced only with
    ``force`` and only if the set beside it records its present bytes; never one of the result's
    inputs (:func:`gaia_stim.core.ownership.check_output_file`).

    Parameters
    ----------
    out_dir : str or path-like
    result : StimulusResult
        As returned by a kind: :func:`gaia_stim.stimuli.continuum`, ``grid``, ``wheel``,
        ``mean_image`` or ``attribute_set``.
    model : object
        The model that made ``result``.
    force : bool, default=False
        Replace an existing stimulus set (and its reports).
    adjust : gaia_stim.stimuli.lowlevel.Adjustment, optional
        Low-level control (figure and background, luminance, contrast, histogram, mask, greyscale, size).
    movie : {"gif", "mp4"}, optional
        Also write the images as a movie, in table order.
    source_band : bool, default=True
        The sources above the steps on the contact sheet (see :func:`write_stimulus_set`).

    Returns
    -------
    str
        ``out_dir``.

    Raises
    ------
    InputError
        ``result`` is not a StimulusResult or breaks its contract (the message names the field).
    OutputExistsError
        ``out_dir``, or a report beside it, exists and may not be replaced.
    """
    if not isinstance(result, StimulusResult):
        raise InputError(f"write_set writes a StimulusResult (what the kinds in gaia_stim.stimuli return); got"
                         f" {type(result).__name__}: use write_stimulus_set for images and rows of your own")
    result.check()
    sources = result.sources
    reports = report_paths(out_dir, result.reports)
    inputs = [source["given"] for source in sources if isinstance(source["given"], (str, os.PathLike))]
    for suffix, path in reports.items():
        check_output_file(path, force, f"the {suffix} report of a {result.kind} set",
                          owned=lambda path: _report_recorded(out_dir, result.kind, result.report_key, path),
                          inputs=(*inputs, *result.input_files))
    summary = dict(result.summary)
    if reports:
        # the set's manifest records the reports' bytes: what proves later that gaia-stim wrote them
        summary[result.report_key] = {os.path.basename(path): hashlib.sha256(result.reports[suffix]).hexdigest()
                                      for suffix, path in reports.items()}
    copies = source_columns(sources)
    model_name = {"model": text_cell(getattr(model, "name", "unknown"), prefix="model_")} if result.model_column else {}
    measurements = result.measurements or [{}] * result.n_images
    rows = [{"image_file": f"{IMAGE_FOLDER}/{name}", **row, **copies, **measured, **model_name}
            for name, row, measured in zip(result.file_names, result.rows, measurements)]
    title = result.sheet_title
    if title is None:
        names = ", ".join(f"{source['role']} = {source_name(source['source'])}" for source in sources)
        title = f"{result.caption}; {names}; model {getattr(model, 'name', 'unknown')}"
    images = result.images if result.images is not None else LatentImages(model, result.latents)
    written = write_stimulus_set(
        out_dir,
        images,
        rows,
        result.parameters,
        model,
        force=force,
        kind=result.kind,
        labels=list(result.labels),
        sheet_columns=result.sheet_columns,
        sheet_title=title,
        sources=sources,
        adjust=adjust,
        movie=movie,
        summary=summary,
        source_band=source_band,
    )
    for suffix, path in reports.items():
        atomic_write(path, lambda stream, data=result.reports[suffix]: stream.write(data))
    return written


# --------------------------------------------------------------------------------------------
# verify and regenerate


def read_manifest(out_dir):
    """The manifest of the stimulus set ``out_dir``, checked like options (DataError if unusable)."""
    path = os.path.join(os.fspath(out_dir), MANIFEST_FILE)
    if not os.path.isdir(out_dir):
        raise DataError(f"{os.fspath(out_dir)!r} is not a folder; give a stimulus set folder")
    try:
        with open(path, encoding="utf-8") as stream:
            manifest = json.load(stream)
    except FileNotFoundError:
        raise DataError(f"{path!r} is missing: {os.fspath(out_dir)!r} is not a gaia-stim stimulus set") from None
    except (OSError, ValueError) as error:
        raise DataError(f"{path!r} cannot be read ({error}); the set is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise DataError(f"{path!r} is not the manifest of a gaia-stim stimulus set")
    _check_manifest(manifest, path)
    return manifest


# A stimulus set's manifest as the writer writes it (format versions 1 and 2): every entry verify or
# regeneration reads has its type, every file it names lies inside the set, and the counts agree.
_INSIDE = InsidePath("the set")
_FILE_RECORD = Record({"file": _INSIDE, "sha256": Sha256()}, extra=True)
_TABLE = Record({}, extra=True)
SET_MANIFEST = Record({
    "format": Equals(FORMAT_NAME),
    "format_version": Whole(1),
    "kind": Text(),
    "model": Record({"file_sha256": Nullable(Text()), "name": Nullable(Text())}, optional=True, extra=True),
    "parameters": _TABLE,
    "adjust": Nullable(_TABLE),
    # sets written before it existed have no ground record; the protocols then read the images' borders
    "ground": Record({"level": Nullable(Number(0, 1)),
                      "covers": Nullable(Text(choices=("every pixel but the figure", "every pixel outside the mask"))),
                      "border": Record({"median": ListOf(Number(0, 1), min_length=1, max_length=3),
                                        "plain_share": Number(0, 1), "spread": Number(0, 1)}, extra=True)},
                     extra=True),
    "movie": Nullable(Text(choices=("gif", "mp4"))),
    "summary": _TABLE,
    "inputs": ListOf(Record({"source": Text(), "given_file": _INSIDE, "prepared_file": _INSIDE}, optional=True,
                            extra=True)),
    "n_images": Whole(1),
    "image_shape": ListOf(Whole(1), min_length=2, max_length=3),
    "table": Record({"file": _INSIDE, "sha256": Sha256(), "columns": MapOf(Text())}, optional=("sha256",),
                    extra=True),
    "contact_sheet": _FILE_RECORD,
    "images": ListOf(_FILE_RECORD, min_length=1),
    "files": ListOf(_FILE_RECORD),
}, optional=("format_version", "kind", "model", "parameters", "adjust", "ground", "movie", "summary", "inputs",
             "n_images", "image_shape", "contact_sheet", "files"), extra=True)


def _check_manifest(manifest, path):
    """The manifest's entries have the types the writer gives them, and name only paths inside the set."""
    try:
        SET_MANIFEST.check(manifest, "", {})
        if "n_images" in manifest and manifest["n_images"] != len(manifest["images"]):
            raise SchemaProblem("n_images", f"is {manifest['n_images']}, but 'images' lists {len(manifest['images'])}")
    except SchemaProblem as problem:
        raise DataError(
            f"{path!r} is damaged or was edited: {problem}; write the set again (or restore its manifest.json)"
        ) from None


def _same_number(text, value):
    try:
        return abs(float(text) - value) <= 1e-9
    except ValueError:
        return False


def verify_set(out_dir):
    """Check a stimulus set against its manifest; returns a list of problems (empty: intact).

    Every file the manifest lists must exist with its sha256, the folder must hold nothing else,
    every path in ``stimuli.csv`` must resolve inside the set, the table's image files must be
    the manifest's images, and each row's ``mean_luminance`` and ``rms_contrast`` must be those
    of its image.

    Raises
    ------
    DataError
        The folder or its manifest is missing or unreadable.
    """
    out_dir = os.fspath(out_dir)
    manifest = read_manifest(out_dir)
    listed = manifest_files(manifest)
    problems = []
    real_root = os.path.realpath(out_dir)
    for name, sha256 in listed.items():
        path = os.path.join(out_dir, *name.split("/"))
        if not os.path.isfile(path):
            problems.append(f"{name}: missing")
        elif os.path.realpath(path) != os.path.join(real_root, *name.split("/")):
            problems.append(f"{name}: a link to a file elsewhere, not a file of the set")
        elif file_sha256(path) != sha256:
            problems.append(f"{name}: its sha256 differs from the manifest's (the file was changed)")
    for root, _, files in os.walk(out_dir):
        for file in files:
            relative = os.path.relpath(os.path.join(root, file), out_dir).replace(os.sep, "/")
            if relative != MANIFEST_FILE and relative not in listed:
                problems.append(f"{relative}: not part of the set (the manifest does not list it)")
    table_path = os.path.join(out_dir, TABLE_FILE)
    if not os.path.isfile(table_path):
        return problems
    try:
        header, table_rows = read_table(table_path)
    except (OSError, UnicodeError, ValueError) as error:
        return problems + [f"{TABLE_FILE}: cannot be read ({error})"]
    if header != list(manifest.get("table", {}).get("columns", {})):
        problems.append(f"{TABLE_FILE}: its columns differ from the manifest's")
        return problems
    image_files = [record.get("file") for record in manifest.get("images", [])]
    column = {name: position for position, name in enumerate(header)}
    if [row[column["image_file"]] if len(row) == len(header) else None for row in table_rows] != image_files:
        problems.append(f"{TABLE_FILE}: its image_file column is not the manifest's list of images")
        return problems
    path_columns = [name for name in header if name == "image_file" or name.startswith(("source_", "prepared_"))]
    for number, row in enumerate(table_rows, start=2):
        for name in path_columns:
            target = row[column[name]]
            if os.path.isabs(target) or ".." in target.split("/") or not os.path.isfile(os.path.join(out_dir, target)):
                problems.append(f"{TABLE_FILE} line {number}: {name} {target!r} does not resolve inside the set")
        if "mean_luminance" in column and not problems:
            pixels = np.asarray(Image.open(os.path.join(out_dir, row[column["image_file"]])))
            grey = luminance(pixels[..., None] if pixels.ndim == 2 else pixels) / 255.0
            if not (_same_number(row[column["mean_luminance"]], float(grey.mean()))
                    and _same_number(row[column["rms_contrast"]], float(grey.std()))):
                problems.append(f"{TABLE_FILE} line {number}: mean_luminance or rms_contrast is not that of"
                                f" {row[column['image_file']]}")
    return problems


def compare_sets(out_dir, again):
    """The differences between the set ``out_dir`` and ``again``, a rebuild of it (empty: the same).

    Every file but the manifest must be byte-identical, and the manifest identical but for its
    time stamp and environment, its inputs (a rebuild reads the sources from the set's own copies)
    and its model record (the model is found by its sha256, wherever it lies now). A set written
    before the ``ground`` record existed lacks it; what a rebuild records there is measured on the
    images and read from ``adjust``, both compared already.
    """
    manifest, new_manifest = read_manifest(out_dir), read_manifest(again)
    differences = []
    old_files, new_files = manifest_files(manifest), manifest_files(new_manifest)
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) != new_files.get(name):
            differences.append(f"{name}: regenerated bytes differ from the set's")
    for key in sorted(set(manifest) | set(new_manifest)):
        if key == "ground" and key not in manifest:
            continue
        if key not in _UNSTABLE and key not in ("inputs", "model") and manifest.get(key) != new_manifest.get(key):
            differences.append(f"{MANIFEST_FILE}: {key!r} differs")
    return differences
