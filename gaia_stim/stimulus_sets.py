"""Stimulus sets on disk: images, a PsychoPy conditions table, a manifest and a contact sheet.

A stimulus set is one folder (DESIGN.md section 5)::

    continuum_a_to_b/
        images/step_00_morph_0.000.png   one 8-bit PNG per stimulus
        images/...
        stimuli.csv                      one row per image; PsychoPy ``data.importConditions`` reads it
        manifest.json                    versions, model sha256, every parameter, every sha256, time
        contact_sheet.png                all images in one labelled overview

The folder is built in a hidden temporary sibling and renamed into place, so it never exists
half-written; an existing folder is replaced only with ``force=True`` and only after the new one is
complete. Given the same inputs the images, the table and the contact sheet are byte-identical; the
manifest differs only in its ``created_utc`` time.

:func:`write_stimulus_set` is the general writer (continua, grids and axes all use it);
:func:`write_continuum` writes the result of :func:`gaia_stim.stimuli.continua.continuum`.
"""

import csv
import hashlib
import io
import json
import logging
import math
import os
import platform
import re
import sys
from datetime import datetime, timezone

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gaia_stim._version import __version__
from gaia_stim.errors import InputError
from gaia_stim.output_folders import MANIFEST_FILE, commit_folder, discard_folder, file_sha256, staging_folder

__all__ = [
    "TABLE_FILE",
    "MANIFEST_FILE",
    "CONTACT_SHEET_FILE",
    "IMAGE_FOLDER",
    "write_stimulus_set",
    "write_continuum",
    "file_sha256",
    "array_sha256",
    "text_cell",
    "looks_like_non_text",
    "psychopy_table_bytes",
]

logger = logging.getLogger(__name__)

TABLE_FILE = "stimuli.csv"
CONTACT_SHEET_FILE = "contact_sheet.png"
IMAGE_FOLDER = "images"
FORMAT_NAME = "gaia-stim stimulus set"
FORMAT_VERSION = 1

_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED_FILES = {TABLE_FILE, MANIFEST_FILE, CONTACT_SHEET_FILE}

# Cells pandas (and so PsychoPy's importConditions) reads as missing values or booleans rather than
# text; together with anything float() accepts they must never appear in a text column.
_NON_TEXT_WORDS = {
    "", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>",
    "n/a", "na", "null", "nan", "none", "true", "false",
}


# --------------------------------------------------------------------------------------------
# hashes and table cells


def array_sha256(array):
    """Hex sha256 of an array's dtype, shape and bytes (C order), for inputs given as arrays."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def looks_like_non_text(text):
    """True if pandas/PsychoPy would read ``text`` as a number, a boolean or a missing value."""
    stripped = str(text).strip()
    if stripped.lower() in _NON_TEXT_WORDS:
        return True
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def text_cell(value, prefix="file_"):
    """``str(value)``, prefixed when it would otherwise be read as a number or a missing value.

    PsychoPy turns the text "007" into the number 7, and with pandas 3 a text column holding one
    numeric-looking cell fails to import; a base name such as ``"007"`` becomes ``"file_007"``.
    """
    text = str(value)
    return prefix + text if looks_like_non_text(text) else text


def _cell_type(value):
    """The column type of one cell: bool, int, float or str (numpy scalars included)."""
    if isinstance(value, (bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int
    if isinstance(value, (float, np.floating)):
        return float
    if isinstance(value, str):
        return str
    return type(value)


def _format_cell(value, kind):
    if kind is float:
        # repr is the shortest text that reads back as the same float, and always has a '.' or 'e',
        # so 0.0 and 1.0 stay floats in a column of floats.
        return repr(float(value))
    if kind is int:
        return str(int(value))
    if kind is bool:
        return "True" if value else "False"
    return value


def _check_table(rows, required=("image_file",)):
    """Validate rows for PsychoPy; return the column names and each column's type."""
    if not rows:
        raise InputError("a stimulus set needs at least one image; got no rows")
    columns = list(rows[0])
    for name in required:
        if name not in columns:
            raise InputError(f"every row needs an {name!r} column; got columns {columns}")
    for name in columns:
        if not isinstance(name, str) or not _HEADER.match(name):
            raise InputError(
                f"column name {name!r} is not valid for PsychoPy; use a letter followed by letters,"
                " digits or underscores"
            )
    kinds = {}
    for index, row in enumerate(rows):
        if list(row) != columns:
            raise InputError(
                f"row {index} has columns {list(row)}; every row must have the columns {columns}"
                " in the same order"
            )
        for name in columns:
            value = row[name]
            kind = _cell_type(value)
            if kind not in (bool, int, float, str):
                raise InputError(
                    f"column {name!r}, row {index}: {value!r} is a {type(value).__name__};"
                    " cells must be int, float, bool or str"
                )
            if kind is float and not math.isfinite(float(value)):
                raise InputError(f"column {name!r}, row {index}: {value!r} is not a finite number")
            if kind is str:
                if looks_like_non_text(value):
                    raise InputError(
                        f"column {name!r}, row {index}: the text {value!r} would be read as a number"
                        " or a missing value by PsychoPy; pass it through text_cell()"
                    )
                if "\n" in value or "\r" in value:
                    raise InputError(f"column {name!r}, row {index}: text must not hold line breaks")
            previous = kinds.setdefault(name, kind)
            if previous is not kind:
                raise InputError(
                    f"column {name!r} mixes {previous.__name__} and {kind.__name__} (row {index});"
                    " each column must hold one type"
                )
    return columns, kinds


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
    if name in _RESERVED_FILES:
        raise InputError(f"image_file {name!r} clashes with the set's own {name}")


def _table_bytes(rows, columns, kinds):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format_cell(row[name], kinds[name]) for name in columns])
    return buffer.getvalue().encode("utf-8")


def psychopy_table_bytes(rows):
    """Rows (dicts with the same keys) as CSV bytes that ``data.importConditions`` reads unchanged.

    The rules of :func:`write_stimulus_set`'s table (DESIGN.md section 5) without its
    ``image_file`` column; for other tables such as trial lists. Raises InputError naming the
    first bad column, row or cell.
    """
    if not rows:
        raise InputError("a PsychoPy table needs at least one row; got none")
    columns, kinds = _check_table(rows, required=())
    return _table_bytes(rows, columns, kinds)


# --------------------------------------------------------------------------------------------
# images


def _to_uint8(images):
    """(N, H, W, C) uint8 or float in [0, 1] -> uint8 (N, H, W, C), rounded."""
    images = np.asarray(images)
    if images.ndim == 3:  # (N, H, W) grey
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"images must have shape (N, H, W, 1 or 3); got {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise InputError(f"images must be uint8 or float in [0, 1]; got dtype {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise InputError("images contain NaN or infinite values")
    return np.round(np.clip(images.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _pil_image(pixels):
    """(H, W, C) uint8 -> a PIL image (L for one channel, RGB for three)."""
    if pixels.shape[-1] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))  # uint8 (H, W): mode L
    return Image.fromarray(np.ascontiguousarray(pixels))  # uint8 (H, W, 3): mode RGB


def _save_png(pixels, path):
    # No metadata: the same pixels always give the same bytes.
    _pil_image(pixels).save(path, format="PNG")


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _fit_text(draw, text, font, width):
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _contact_sheet(images, labels, columns=None, title=None, max_columns=11):
    """One RGB image: the stimuli in rows of ``columns``, each labelled underneath."""
    count, height, width = images.shape[:3]
    if columns is None:
        rows = math.ceil(count / max_columns)
        columns = math.ceil(count / rows)
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    # Small models (32 or 64 px) are enlarged by whole pixels (nearest) so the sheet is legible.
    scale = max(1, math.ceil(96 / max(height, width)))
    tile_w, tile_h = width * scale, height * scale
    gap, margin = 8, 10
    label_font, title_font = _font(14), _font(15)
    label_h = 22
    title_h = 26 if title else 0
    sheet_w = 2 * margin + columns * tile_w + (columns - 1) * gap
    sheet_h = 2 * margin + title_h + rows * (tile_h + label_h) + (rows - 1) * gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        text = _fit_text(draw, title, title_font, sheet_w - 2 * margin)
        draw.text((margin, margin), text, fill=(0, 0, 0), font=title_font)
    for index in range(count):
        row, column = divmod(index, columns)
        left = margin + column * (tile_w + gap)
        top = margin + title_h + row * (tile_h + label_h + gap)
        tile = _pil_image(images[index]).convert("RGB")
        if scale > 1:
            tile = tile.resize((tile_w, tile_h), Image.Resampling.NEAREST)
        sheet.paste(tile, (left, top))
        draw.rectangle((left - 1, top - 1, left + tile_w, top + tile_h), outline=(160, 160, 160))
        label = _fit_text(draw, labels[index], label_font, tile_w + gap)
        text_w = draw.textlength(label, font=label_font)
        draw.text(
            (left + (tile_w - text_w) / 2, top + tile_h + 3), label, fill=(0, 0, 0), font=label_font
        )
    return sheet


# --------------------------------------------------------------------------------------------
# manifest


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


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --------------------------------------------------------------------------------------------
# atomic folder


def _commit(temporary, out_dir, force):
    commit_folder(temporary, out_dir, force, FORMAT_NAME, "gaia-stim stimulus set")


# --------------------------------------------------------------------------------------------
# public writers


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
):
    """Write images, ``stimuli.csv``, ``manifest.json`` and ``contact_sheet.png`` as one folder.

    Parameters
    ----------
    out_dir : str or path-like
        The folder to create. Its parent is created if missing.
    images : ndarray of shape (n_images, H, W, C), C in {1, 3}
        uint8, or float in [0, 1] (rounded to 8 bits).
    rows : list of dict
        One dict per image, all with the same keys in the same order; these are the CSV columns.
        ``row["image_file"]`` is where that image is written: a relative path with forward
        slashes ending in ``.png`` (e.g. ``"images/step_00.png"``). Cells are int, float, bool or
        str; text must not look like a number (see :func:`text_cell`).
    parameters : dict
        Every parameter that produced the images (and the seed, if any); stored in the manifest.
    model : object
        The model used; its ``name``, ``file_sha256``, ``preset``, ``version``, ``image_size``,
        ``channels``, ``latent_dim`` (and ``device`` if present) go into the manifest.
    force : bool, default=False
        Replace an existing stimulus set at ``out_dir`` (only once the new one is complete).
    kind : str, default="stimulus set"
        What the set is, e.g. ``"continuum"``; stored in the manifest.
    inputs : sequence of dict, default=()
        One JSON-serialisable record per input image (source, sha256, changes made to it).
    labels : list of str, optional
        Contact-sheet label per image; defaults to the image file names.
    sheet_columns : int, optional
        Images per contact-sheet row; by default at most 11, rows balanced.
    sheet_title : str, optional
        A line above the contact sheet.

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
    out_dir = os.fspath(out_dir)
    images = _to_uint8(images)
    rows = [dict(row) for row in rows]
    if len(rows) != len(images):
        raise InputError(f"got {len(images)} images but {len(rows)} rows; give one row per image")
    columns, kinds = _check_table(rows)
    if kinds["image_file"] is not str:
        raise InputError("the 'image_file' column must hold text")
    image_files = [row["image_file"] for row in rows]
    for name in image_files:
        _check_image_file(name)
    if len(set(image_files)) != len(image_files):
        raise InputError("image_file names must be unique")
    if labels is None:
        labels = [name.rsplit("/", 1)[-1] for name in image_files]
    if len(labels) != len(images):
        raise InputError(f"got {len(images)} images but {len(labels)} labels")

    given_out_dir = out_dir
    out_dir, temporary = staging_folder(out_dir, force, FORMAT_NAME, "gaia-stim stimulus set")
    try:
        image_records = []
        for pixels, image_file in zip(images, image_files):
            path = os.path.join(temporary, *image_file.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _save_png(pixels, path)
            image_records.append({"file": image_file, "sha256": file_sha256(path)})

        table = _table_bytes(rows, columns, kinds)
        with open(os.path.join(temporary, TABLE_FILE), "wb") as handle:
            handle.write(table)

        sheet = _contact_sheet(images, labels, columns=sheet_columns, title=sheet_title)
        sheet_path = os.path.join(temporary, CONTACT_SHEET_FILE)
        sheet.save(sheet_path, format="PNG")

        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "gaia_stim_version": __version__,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": _model_record(model),
            "parameters": parameters,
            "inputs": list(inputs),
            "n_images": len(images),
            "image_shape": list(images.shape[1:]),
            "image_encoding": "8-bit PNG, model output in [0, 1] times 255, rounded",
            "table": {
                "file": TABLE_FILE,
                "sha256": hashlib.sha256(table).hexdigest(),
                "columns": {name: kinds[name].__name__ for name in columns},
            },
            "contact_sheet": {"file": CONTACT_SHEET_FILE, "sha256": file_sha256(sheet_path)},
            "images": image_records,
            # every file of the set but this manifest: what --force may replace, and what verify checks
            "files": image_records
            + [{"file": TABLE_FILE, "sha256": hashlib.sha256(table).hexdigest()},
               {"file": CONTACT_SHEET_FILE, "sha256": file_sha256(sheet_path)}],
            "environment": _environment(),
        }
        with open(os.path.join(temporary, MANIFEST_FILE), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, default=_json_default, allow_nan=False)
            handle.write("\n")

        _commit(temporary, out_dir, force)
    except BaseException:
        discard_folder(temporary)
        raise
    logger.info("wrote %d images to %s", len(images), out_dir)
    return os.fspath(given_out_dir)


def _morph_decimals(morph_levels):
    """Decimals that tell every morph level apart in file names and labels (3 at least)."""
    for decimals in range(3, 13):
        if len({f"{level:.{decimals}f}" for level in morph_levels}) == len(morph_levels):
            return decimals
    return 12


def _source_name(source):
    if source == "array":
        return "array"
    # a file name that is not valid UTF-8 is kept readable, its undecodable bytes escaped
    return os.path.basename(os.fspath(source)).encode("utf-8", "backslashreplace").decode("utf-8")


def write_continuum(out_dir, result, model, force=False):
    """Write a :func:`~gaia_stim.stimuli.continua.continuum` result as a stimulus set.

    Images are ``images/step_NN_morph_T.TTT.png`` (step zero-padded so names sort in order);
    ``stimuli.csv`` has the columns ``image_file``, ``step``, ``morph_level``, ``source_a``,
    ``source_b`` and ``model``.

    Parameters
    ----------
    out_dir : str or path-like
    result : dict
        As returned by ``continuum``.
    model : object
        The model that made ``result``.
    force : bool, default=False
        Replace an existing stimulus set.

    Returns
    -------
    str
        ``out_dir``.
    """
    morph_levels = [float(level) for level in result["morph_levels"]]
    n_steps = len(morph_levels)
    step_width = max(2, len(str(n_steps - 1)))
    decimals = _morph_decimals(morph_levels)
    name_a = _source_name(result["source_a"])
    name_b = _source_name(result["source_b"])
    model_name = text_cell(getattr(model, "name", "unknown"), prefix="model_")
    rows = []
    for step, level in enumerate(morph_levels):
        rows.append(
            {
                "image_file": f"{IMAGE_FOLDER}/step_{step:0{step_width}d}_morph_{level:.{decimals}f}.png",
                "step": step,
                "morph_level": level,
                "source_a": text_cell(name_a),
                "source_b": text_cell(name_b),
                "model": model_name,
            }
        )
    parameters = {
        "source_a": os.fspath(result["source_a"]),
        "source_b": os.fspath(result["source_b"]),
        "n_steps": int(result["n_steps"]),
        "method": result["method"],
        "morph_levels": morph_levels,
        "seed": None,  # a continuum involves no randomness
    }
    inputs = [
        {
            "role": role,
            "source": os.fspath(source),
            "sha256": sha256,
            "changes": list(changes),
        }
        for role, source, sha256, changes in zip(
            ("a", "b"),
            (result["source_a"], result["source_b"]),
            result.get("input_sha256", (None, None)),
            result["input_changes"],
        )
    ]
    title = f"morph level: {name_a} (0) to {name_b} (1); model {getattr(model, 'name', 'unknown')}"
    return write_stimulus_set(
        out_dir,
        result["images"],
        rows,
        parameters,
        model,
        force=force,
        kind="continuum",
        inputs=inputs,
        labels=[f"{level:.{decimals}f}" for level in morph_levels],
        sheet_title=title,
    )
