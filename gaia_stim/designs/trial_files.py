"""Trial files: read a stimulus set, write a PsychoPy conditions CSV and its sidecar JSON.

Any set with a numeric level column gives trials: its images are ordered by that column
(:data:`DEFAULT_LEVEL_COLUMNS`, or the one named), whose values fill the designs' ``morph_*``
columns; a grid's two level columns give identification trials that carry both levels.

The trial CSV obeys docs/design.md, section 4 (it is checked by the same code as ``stimuli.csv``) and
its image paths are relative to the CSV's own folder, with forward slashes. The sidecar
``FILE.json`` beside ``FILE.csv`` records the design, the seed, every option, the stimulus set
(path, manifest and table sha256) and the CSV's sha256; it holds no time stamp, so the same
command with the same seed writes the same bytes.
"""

import collections
import csv
import hashlib
import io
import json
import math
import os

import numpy as np

from gaia_stim._version import __version__
from gaia_stim.designs.orders import design_trials, image_counts
from gaia_stim.designs.records import get_design
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.limits import MAX_DATA_LEVEL
from gaia_stim.core.schemas import Equals, Record, SchemaProblem, Sha256, Text, load_json, read_text
from gaia_stim.io.sets import MANIFEST_FILE, TABLE_FILE, read_manifest
from gaia_stim.io.tables import psychopy_table_bytes
from gaia_stim.core.atomic import atomic_write, file_sha256
from gaia_stim.core.ownership import check_output_file

__all__ = ["DEFAULT_LEVEL_COLUMNS", "read_stimuli", "read_continuum", "make_trials", "write_trials", "sidecar_path"]

SIDECAR_FORMAT = "gaia-stim trial list"
# The level columns of each kind of set, in the order they are looked for: a continuum, an
# attribute series, a wheel, a grid (two levels, for identification only).
DEFAULT_LEVEL_COLUMNS = (("morph_level",), ("amount",), ("angle_deg",), ("u", "v"))

# What a trial list's JSON file must hold for gaia-stim to take it for its own (and replace it with --force).
SIDECAR = Record({
    "format": Equals(SIDECAR_FORMAT),
    "trial_file": Record({"file": Text(), "sha256": Sha256()}, extra=True),
}, extra=True)


def _level_columns(header, table, requested):
    """The level columns to read: ``requested`` (checked against ``header``) or the first known set."""
    if not requested:
        for columns in DEFAULT_LEVEL_COLUMNS:
            if all(name in header for name in columns):
                return list(columns)
        known = "; ".join(" and ".join(columns) for columns in DEFAULT_LEVEL_COLUMNS)
        raise DataError(
            f"{table!r} has none of the level columns of gaia-stim's sets ({known}), so trial designs cannot"
            " order its images; name a numeric column with --level-column NAME"
        )
    columns = []
    for name in requested:
        if name not in columns:
            columns.append(name)
    if len(columns) > 2:
        raise InputError(f"--level-column takes one column (or two, for a grid); got {', '.join(columns)}")
    for name in columns:
        if name not in header or name == "image_file":
            raise InputError(
                f"--level-column {name!r} is not a level column of {table!r}; its columns are"
                f" {', '.join(column for column in header if column != 'image_file')}"
            )
        if len(columns) == 2 and name in ("step", "level_columns"):
            raise InputError(f"--level-column {name!r}: the trial list has its own {name} column; choose another")
    return columns


def _number(record, name, table, row):
    try:
        value = float(record[name])
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{table!r} row {row}: {name} {record[name]!r} is not a number")
    if abs(value) > MAX_DATA_LEVEL:
        raise DataError(f"{table!r} row {row}: {name} {record[name]!r} lies outside -{MAX_DATA_LEVEL:g} to"
                        f" {MAX_DATA_LEVEL:g}, further out than any gaia-stim set's levels; check the table, or write"
                        " the set again")
    return value


def read_stimuli(stimulus_dir, level_columns=None):
    """The images of a stimulus set with their levels, sorted by level, with absolute image paths.

    Parameters
    ----------
    stimulus_dir : str or path-like
        A stimulus set folder (its ``stimuli.csv``).
    level_columns : sequence of str or None, default=None
        One numeric column of the table to order the images by, or two (a grid's ``u`` and ``v``).
        By default the first of :data:`DEFAULT_LEVEL_COLUMNS` the table has: ``morph_level`` (a
        continuum), ``amount`` (an attribute series), ``angle_deg`` (a wheel), ``u`` and ``v`` (a grid).

    Returns
    -------
    (list of dict, list of str)
        The stimuli, each with ``path`` (absolute) and ``step`` (the ``step`` column, else ``index``,
        else the table row from 0), and ``morph_level`` (one level column) or ``levels`` (a dict of
        the two); and the level columns read.

    Raises
    ------
    DataError
        The folder is not a stimulus set, a level is not a number, two images share a level, or an
        image it names is missing or lies outside the set.
    InputError
        A ``level_columns`` name is not a column of the table, or more than two are given.
    """
    stimulus_dir = os.path.abspath(os.fspath(stimulus_dir))
    table = os.path.join(stimulus_dir, TABLE_FILE)
    if not os.path.isfile(table):
        raise DataError(
            f"{stimulus_dir!r} has no {TABLE_FILE}; give a stimulus set folder written by gaia-stim"
            " (e.g. 'gaia-stim continuum')"
        )
    reader = csv.DictReader(io.StringIO(read_text(table, "the stimulus table"), newline=""))
    try:
        records = list(reader)
    except csv.Error as error:
        raise DataError(f"{table!r} is not a readable CSV table ({error}); write the set again") from None
    header = list(reader.fieldnames or [])
    if not records:
        raise DataError(f"{table!r} lists no images")
    if "image_file" not in header:
        raise DataError(f"{table!r} has no image_file column; give a stimulus set folder written by gaia-stim")
    columns = _level_columns(header, table, list(level_columns or ()))
    step_column = next((name for name in ("step", "index") if name in header), None)
    real_set = os.path.realpath(stimulus_dir)
    stimuli = []
    for index, record in enumerate(records):
        row = index + 1
        levels = {name: _number(record, name, table, row) for name in columns}
        name = record["image_file"] or ""
        path = os.path.join(stimulus_dir, *name.split("/"))
        if os.path.isabs(name) or not os.path.realpath(path).startswith(real_set + os.sep):
            raise DataError(
                f"{table!r} row {row}: image {name!r} lies outside the stimulus set; a set's table names"
                " only its own images (check the table, or write the set again)"
            )
        if not os.path.isfile(path):
            raise DataError(f"{table!r} row {row}: image {name!r} does not exist")
        step = record.get(step_column) if step_column else None
        try:
            step = int(step) if step not in (None, "") else index
        except ValueError:
            raise DataError(f"{table!r} row {row}: {step_column} {step!r} is not a whole number") from None
        stimulus = {"path": path, "step": step}
        if len(columns) == 1:
            stimulus["morph_level"] = levels[columns[0]]
        else:
            stimulus["levels"] = levels
        stimuli.append(stimulus)
    stimuli.sort(key=lambda s: (_levels_of(s), s["step"]))
    counts = collections.Counter(_levels_of(s) for s in stimuli)
    level, times = max(counts.items(), key=lambda item: item[1])
    if times > 1:
        shown = ", ".join(f"{name} = {value:g}" for name, value in zip(columns, level))
        if len(columns) == 1 and all(name in header for name in ("u", "v")):
            fix = "for a grid's identification design give both columns: --level-column u --level-column v"
        else:
            fix = "choose the column that tells them apart with --level-column"
        raise DataError(f"{table!r} lists {shown} for {times} images; the trials need one image per level: {fix}")
    return stimuli, columns


def _levels_of(stimulus):
    return (stimulus["morph_level"],) if "morph_level" in stimulus else tuple(stimulus["levels"].values())


def read_continuum(stimulus_dir, level_column=None):
    """The stimuli of a set with one level column, sorted by it, with absolute image paths.

    Returns a list of dicts with ``path`` (absolute), ``step`` (int) and ``morph_level`` (float: the
    set's ``morph_level``, or ``level_column``, or the set's own level column; see
    :func:`read_stimuli`). Raises DataError as :func:`read_stimuli` does, and if the set has two
    level columns (a grid).
    """
    stimuli, columns = read_stimuli(stimulus_dir, [level_column] if level_column else None)
    if len(columns) != 1:
        raise DataError(
            f"{os.fspath(stimulus_dir)!r} has two level columns ({', '.join(columns)}); this needs a set with"
            " one (a continuum, an attribute series or a wheel)"
        )
    return stimuli


def _relative(path, folder):
    return os.path.relpath(path, folder).replace(os.sep, "/")


def sidecar_path(trial_file):
    """``trials.csv`` -> ``trials.json``."""
    root, _ = os.path.splitext(os.fspath(trial_file))
    return root + ".json"


def make_trials(stimulus_dir, design, reps, seed, out_file, separations=(), no_repeats=True, level_columns=None,
                balance_images=False, yes=False, n_conditions=None):
    """Trial rows for ``design`` over the set in ``stimulus_dir``, paths relative to ``out_file``.

    Returns ``(rows, stimuli, level_columns)``: the stimuli as :func:`read_stimuli` gives them, each
    with its ``image_file`` as the rows name it. See :func:`gaia_stim.designs.orders.design_trials`.
    """
    if isinstance(seed, (bool, np.bool_)) or int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a whole number >= 0; got {seed!r}")
    stimuli, level_columns = read_stimuli(stimulus_dir, level_columns)
    out_folder = os.path.dirname(os.path.abspath(os.fspath(out_file)))
    for stimulus in stimuli:
        stimulus["image_file"] = _relative(stimulus["path"], out_folder)
    table_stimuli = [{key: value for key, value in s.items() if key != "path"} for s in stimuli]
    rng = np.random.default_rng(int(seed))
    rows = design_trials(table_stimuli, design, reps, rng, separations=separations, no_repeats=no_repeats,
                         balance_images=balance_images, yes=yes, n_conditions=n_conditions)
    return rows, stimuli, level_columns


def _image_count_records(rows, stimuli, level_columns):
    """How often each image of the set is shown in ``rows``, in level order (0 for an image never shown)."""
    counts = image_counts(rows)
    records = []
    for stimulus in stimuli:
        levels = stimulus["levels"] if "levels" in stimulus else {level_columns[0]: stimulus["morph_level"]}
        records.append({"image_file": stimulus["image_file"], **levels, "shown": counts.get(stimulus["image_file"], 0)})
    return records


def _count_note(records, separations, balance_images, own_blocks=False):
    shown = [record["shown"] for record in records]
    if min(shown) == max(shown):
        return None
    never = sum(count == 0 for count in shown)
    unseen = f", {never} of them never (no pair reaches them)" if never else ""
    steps = "step" if separations == [1] else "steps"
    why = (f"an image near an end of the set is in fewer pairs {'/'.join(map(str, separations))} {steps} apart"
           if separations else "the design shows some images more often than others")
    fix = "" if balance_images else "; --balance-images adds pairs that even this out"
    if own_blocks:  # MLDS: a subset of triads (quadruples) cannot always show every image equally often
        why, fix = "the chosen triads (quadruples) cannot hold every image equally often", ""
    return f"images are shown {min(shown)} to {max(shown)} times each{unseen}: {why}{fix}"


def _on_grid(level, low, high, n_steps):
    position = (level - low) / (high - low) * (n_steps - 1)
    return abs(position - round(position)) < 1e-6


def _source_note(manifest, stimuli):
    """Source levels of a continuum and, if the set holds no image at some of them, a note saying so."""
    parameters = manifest.get("parameters") if isinstance(manifest, dict) else None
    if not isinstance(parameters, dict) or manifest.get("kind") != "continuum":
        return None, None
    sources = parameters.get("sources")
    if not isinstance(sources, list) or len(sources) < 2:
        return None, None
    source_levels = [float(level) for level in range(len(sources))]
    levels = [stimulus["morph_level"] for stimulus in stimuli if "morph_level" in stimulus]
    if not levels:
        return None, None
    missing = [level for level in source_levels
               if min(levels) <= level <= max(levels) and not any(abs(level - x) < 1e-9 for x in levels)]
    record = {"levels": source_levels,
              "in_set": [any(abs(level - x) < 1e-9 for x in levels) for level in source_levels]}
    if not missing:
        return record, None
    note = (f"the set holds no image at source level {', '.join(f'{level:g}' for level in missing)} (the source"
            " image itself), which a design comparing a source with its caricature needs")
    level_range, n_steps = parameters.get("level_range"), parameters.get("n_steps")
    if (parameters.get("spacing") == "linear" and isinstance(level_range, list) and len(level_range) == 2
            and isinstance(n_steps, int)):
        low, high = (float(value) for value in level_range)
        fits = next((m for m in range(max(n_steps, 2), 10001)
                     if all(_on_grid(level, low, high, m) for level in missing)), None)
        if fits is not None:
            note += f": make the continuum with --range {low:g} {high:g} --steps {fits}, whose steps land on it"
    return record, note


def _trial_list_written_by_us(trial_file, sidecar):
    """True if ``sidecar`` is the JSON file gaia-stim wrote for ``trial_file`` and the table is as written."""
    try:
        recorded = SIDECAR.check(load_json(sidecar, "trial list JSON file"), "", {})["trial_file"]
        return (os.path.isfile(trial_file) and not os.path.islink(trial_file)
                and recorded["file"] == os.path.basename(trial_file) and recorded["sha256"] == file_sha256(trial_file))
    except (OSError, DataError, SchemaProblem):
        return False


def write_trials(stimulus_dir, design, reps, seed, out_file, separations=(), no_repeats=True, force=False,
                 level_columns=None, balance_images=False, yes=False, n_conditions=None):
    """Write ``out_file`` (trial CSV) and its sidecar JSON; return the sidecar's record.

    The record (a dict, as written to ``FILE.json``) holds ``n_trials``, ``level_columns``,
    ``image_counts`` (every image of the set with its levels and ``shown``, the times the list shows
    it), ``image_counts_equal`` and ``notes`` (one line each: unequal counts and why, source levels
    a continuum lacks), besides the design, seed and options.

    Raises OutputExistsError if either file exists and ``force`` is false, or if ``force`` is given
    but the files are not a trial list and its JSON file that gaia-stim wrote (unchanged since), or
    if ``out_file`` lies inside a stimulus set (or another folder gaia-stim wrote as a whole);
    InputError past the cap on trials without ``yes`` (:mod:`gaia_stim.core.limits`). Nothing is
    written, not even the folder of ``out_file``, until the trials are made.
    """
    out_file = os.fspath(out_file)
    if not out_file.lower().endswith(".csv"):
        raise InputError(f"--out {out_file!r} must name a .csv file (PsychoPy reads conditions from .csv)")
    sidecar = sidecar_path(out_file)
    check_output_file(out_file, force, "a trial list", owned=lambda path: _trial_list_written_by_us(path, sidecar))
    check_output_file(sidecar, force, "a trial list's JSON file",
                      owned=lambda path: os.path.lexists(out_file) and _trial_list_written_by_us(out_file, path))
    rows, stimuli, level_columns = make_trials(stimulus_dir, design, reps, seed, out_file, separations, no_repeats,
                                               level_columns, balance_images, yes, n_conditions)
    table = psychopy_table_bytes(rows)

    stimulus_dir = os.path.abspath(os.fspath(stimulus_dir))
    manifest = os.path.join(stimulus_dir, MANIFEST_FILE)
    try:
        manifest_record = read_manifest(stimulus_dir)  # checked like verify checks it; a set without one has no notes
    except DataError:
        manifest_record = None
    separations = sorted({int(d) for d in separations})
    counts = _image_count_records(rows, stimuli, level_columns)
    sources, source_note = _source_note(manifest_record, stimuli)
    own_blocks = get_design(design).trials is not None
    notes = [note for note in (_count_note(counts, separations, balance_images, own_blocks), source_note) if note]
    record = {
        "format": SIDECAR_FORMAT,
        "format_version": 2,
        "gaia_stim_version": __version__,
        "design": design,
        "seed": int(seed),
        "reps": int(reps),
        "separations": separations,
        "no_repeats": bool(no_repeats),
        "balance_images": bool(balance_images),
        **({"n_conditions": int(n_conditions)} if n_conditions is not None else {}),
        "level_columns": level_columns,
        "n_trials": len(rows),
        "loop_type": "sequential",
        "stimulus_set": {
            "folder": _relative(stimulus_dir, os.path.dirname(os.path.abspath(out_file))),
            "table_sha256": file_sha256(os.path.join(stimulus_dir, TABLE_FILE)),
            "manifest_sha256": file_sha256(manifest) if os.path.isfile(manifest) else None,
        },
        "source_levels": sources,
        "trial_file": {"file": os.path.basename(out_file), "sha256": hashlib.sha256(table).hexdigest()},
        "image_counts": counts,
        "image_counts_equal": len({count["shown"] for count in counts}) == 1,
        "notes": notes,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    atomic_write(out_file, lambda stream: stream.write(table))
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(sidecar, lambda stream: stream.write(text.encode("utf-8")))
    return record
