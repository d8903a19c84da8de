"""Trial files: read a stimulus set, write a PsychoPy conditions CSV and its sidecar JSON.

The trial CSV obeys docs/design.md, section 4 (it is checked by the same code as ``stimuli.csv``) and
its image paths are relative to the CSV's own folder, with forward slashes. The sidecar
``FILE.json`` beside ``FILE.csv`` records the design, the seed, every option, the stimulus set
(path, manifest and table sha256) and the CSV's sha256; it holds no time stamp, so the same
command with the same seed writes the same bytes.
"""

import csv
import hashlib
import json
import math
import os

import numpy as np

from gaia_stim._version import __version__
from gaia_stim.designs.orders import design_trials
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.io.sets import MANIFEST_FILE, TABLE_FILE
from gaia_stim.io.tables import psychopy_table_bytes
from gaia_stim.core.atomic import atomic_write, file_sha256
from gaia_stim.core.ownership import check_output_file

__all__ = ["read_continuum", "make_trials", "write_trials", "sidecar_path"]

SIDECAR_FORMAT = "gaia-stim trial list"


def read_continuum(stimulus_dir):
    """The stimuli of a continuum set, sorted by morph level, with absolute image paths.

    Returns a list of dicts with ``path`` (absolute), ``step`` (int) and ``morph_level`` (float).
    Raises DataError if the folder is not a stimulus set with ``image_file`` and ``morph_level``
    columns, or an image it names is missing.
    """
    stimulus_dir = os.path.abspath(os.fspath(stimulus_dir))
    table = os.path.join(stimulus_dir, TABLE_FILE)
    if not os.path.isfile(table):
        raise DataError(
            f"{stimulus_dir!r} has no {TABLE_FILE}; give a stimulus set folder written by"
            " 'gaia-stim continuum'"
        )
    with open(table, newline="", encoding="utf-8-sig") as handle:
        records = list(csv.DictReader(handle))
    if not records:
        raise DataError(f"{table!r} lists no images")
    missing = [name for name in ("image_file", "morph_level") if name not in records[0]]
    if missing:
        raise DataError(
            f"{table!r} has no {', '.join(missing)} column; trial designs need a continuum"
            " (made by 'gaia-stim continuum')"
        )
    stimuli = []
    for index, record in enumerate(records):
        try:
            level = float(record["morph_level"])
        except (TypeError, ValueError):
            level = math.nan
        if not math.isfinite(level):
            raise DataError(f"{table!r} row {index + 1}: morph_level {record['morph_level']!r} is not a number")
        name = record["image_file"] or ""
        path = os.path.join(stimulus_dir, *name.split("/"))
        real_set = os.path.realpath(stimulus_dir)
        if os.path.isabs(name) or not os.path.realpath(path).startswith(real_set + os.sep):
            raise DataError(
                f"{table!r} row {index + 1}: image {name!r} lies outside the stimulus set; a set's table names"
                " only its own images (check the table, or write the set again)"
            )
        if not os.path.isfile(path):
            raise DataError(f"{table!r} row {index + 1}: image {name!r} does not exist")
        step = record.get("step")
        try:
            step = int(step) if step not in (None, "") else index
        except ValueError:
            raise DataError(f"{table!r} row {index + 1}: step {record.get('step')!r} is not a whole number") from None
        stimuli.append({"path": path, "step": step, "morph_level": level})
    stimuli.sort(key=lambda s: (s["morph_level"], s["step"]))
    levels = [s["morph_level"] for s in stimuli]
    if len(set(levels)) != len(levels):
        raise DataError(f"{table!r} lists a morph level twice; a continuum has one image per level")
    return stimuli


def _relative(path, folder):
    return os.path.relpath(path, folder).replace(os.sep, "/")


def sidecar_path(trial_file):
    """``trials.csv`` -> ``trials.json``."""
    root, _ = os.path.splitext(os.fspath(trial_file))
    return root + ".json"


def make_trials(stimulus_dir, design, reps, seed, out_file, separations=(), no_repeats=True):
    """Trial rows for ``design`` over the continuum in ``stimulus_dir``, paths relative to ``out_file``.

    Returns ``(rows, stimuli)``; see :func:`gaia_stim.designs.orders.design_trials`.
    """
    if isinstance(seed, (bool, np.bool_)) or int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a whole number >= 0; got {seed!r}")
    stimuli = read_continuum(stimulus_dir)
    out_folder = os.path.dirname(os.path.abspath(os.fspath(out_file)))
    table_stimuli = [
        {"image_file": _relative(s["path"], out_folder), "step": s["step"], "morph_level": s["morph_level"]}
        for s in stimuli
    ]
    rng = np.random.default_rng(int(seed))
    rows = design_trials(table_stimuli, design, reps, rng, separations=separations, no_repeats=no_repeats)
    return rows, stimuli


def _trial_list_written_by_us(trial_file, sidecar):
    """True if ``sidecar`` is the JSON file gaia-stim wrote for ``trial_file`` and the table is as written."""
    try:
        with open(sidecar, encoding="utf-8") as stream:
            record = json.load(stream)
        recorded = record["trial_file"]
        return (record.get("format") == SIDECAR_FORMAT and os.path.isfile(trial_file)
                and not os.path.islink(trial_file) and recorded["file"] == os.path.basename(trial_file)
                and recorded["sha256"] == file_sha256(trial_file))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_trials(stimulus_dir, design, reps, seed, out_file, separations=(), no_repeats=True, force=False):
    """Write ``out_file`` (trial CSV) and its sidecar JSON; return the number of trials.

    Raises OutputExistsError if either file exists and ``force`` is false, or if ``force`` is given
    but the files are not a trial list and its JSON file that gaia-stim wrote (unchanged since), or
    if ``out_file`` lies inside a stimulus set (or another folder gaia-stim wrote as a whole).
    """
    out_file = os.fspath(out_file)
    if not out_file.lower().endswith(".csv"):
        raise InputError(f"--out {out_file!r} must name a .csv file (PsychoPy reads conditions from .csv)")
    sidecar = sidecar_path(out_file)
    check_output_file(out_file, force, "a trial list", owned=lambda path: _trial_list_written_by_us(path, sidecar))
    check_output_file(sidecar, force, "a trial list's JSON file",
                      owned=lambda path: os.path.lexists(out_file) and _trial_list_written_by_us(out_file, path))
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    rows, _ = make_trials(stimulus_dir, design, reps, seed, out_file, separations, no_repeats)
    table = psychopy_table_bytes(rows)

    stimulus_dir = os.path.abspath(os.fspath(stimulus_dir))
    manifest = os.path.join(stimulus_dir, MANIFEST_FILE)
    record = {
        "format": SIDECAR_FORMAT,
        "format_version": 1,
        "gaia_stim_version": __version__,
        "design": design,
        "seed": int(seed),
        "reps": int(reps),
        "separations": sorted({int(d) for d in separations}),
        "no_repeats": bool(no_repeats),
        "n_trials": len(rows),
        "loop_type": "sequential",
        "stimulus_set": {
            "folder": _relative(stimulus_dir, os.path.dirname(os.path.abspath(out_file))),
            "table_sha256": file_sha256(os.path.join(stimulus_dir, TABLE_FILE)),
            "manifest_sha256": file_sha256(manifest) if os.path.isfile(manifest) else None,
        },
        "trial_file": {"file": os.path.basename(out_file), "sha256": hashlib.sha256(table).hexdigest()},
    }
    atomic_write(out_file, lambda stream: stream.write(table))
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(sidecar, lambda stream: stream.write(text.encode("utf-8")))
    return len(rows)
