"""Read PsychoPy's wide CSV data files into trials ready for a psychometric fit.

A wide CSV (``ExperimentHandler.saveAsWideText``, what Builder and the protocols save) has one row
per trial: the condition columns of the trial list, loop counters, the responses. Files may start
with a UTF-8 byte-order mark and every line may end with a comma; rows without a coded response
(instructions, breaks) are skipped. The design comes from the ``design`` column the trial lists
carry, or from the columns a design's fit reads (its record's ``columns``); the participant from the
``participant`` column, or the file name when there is none.
"""

import io
import os

import numpy as np
import pandas as pd

from gaia_stim.core.errors import DataError
from gaia_stim.core.limits import MAX_DATA_LEVEL
from gaia_stim.core.schemas import read_text
from gaia_stim.designs.records import DESIGNS

__all__ = ["read_data_file", "read_data_files"]


def _line(row):
    return int(row) + 2  # the header is line 1


def _read_csv(path):
    try:
        text = read_text(path, "data file")  # UTF-8 (a byte-order mark is fine), or one clear error
    except FileNotFoundError:
        raise DataError(f"data file {path!r} does not exist") from None
    try:
        table = pd.read_csv(io.StringIO(text), index_col=False, skipinitialspace=True, dtype={"participant": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path!r} is not a readable CSV data file ({str(error).splitlines()[0]})") from None
    # A trailing comma on every line gives one unnamed, empty column.
    return table.loc[:, [not str(name).startswith("Unnamed:") for name in table.columns]]


def _design_of(table, path):
    if "design" in table.columns:
        answers = [design.columns[-1] for design in DESIGNS.values() if design.columns[-1] in table.columns]
        answered = table[answers].notna().any(axis=1) if answers else pd.Series(False, index=table.index)
        blank = np.flatnonzero((table["design"].isna() & answered).to_numpy())
        if len(blank):
            raise DataError(
                f"{path!r} line {_line(blank[0])}: an answered trial ({', '.join(answers)}) has an empty design cell,"
                f" so it cannot be told which design it belongs to; fill in its design ({', '.join(DESIGNS)}) or"
                " drop the row"
            )
        designs = sorted({str(value) for value in table["design"].dropna().unique()})
        unknown = [name for name in designs if name not in DESIGNS]
        if unknown:
            raise DataError(f"{path!r}: design {unknown[0]!r} is not one of {', '.join(DESIGNS)}")
        return _psychometric(designs, path)
    found = [name for name, design in DESIGNS.items() if set(design.columns) <= set(table.columns)]
    if not found:
        expected = "; ".join(f"{name}: {', '.join(design.columns)}" for name, design in DESIGNS.items())
        raise DataError(
            f"{path!r} has neither a 'design' column nor the columns of any design ({expected});"
            " is it a data file from a gaia-stim protocol?"
        )
    return _psychometric(found[:1], path)


def _psychometric(designs, path):
    """``designs``, unless one of them measures a perceptual scale (MLDS), which analyze does not fit."""
    scaled = [name for name in designs if DESIGNS[name].from_labels is None]
    if scaled:
        raise DataError(f"{path!r} holds {scaled[0]} trials, which measure a perceptual scale, not a psychometric"
                        f" function: fit them with gaia-stim scale {path} --stimuli SET --out FOLDER")
    return designs


def read_data_file(path):
    """One data file -> a list of ``(design, participant, levels, responses)``, one per design/participant."""
    path = os.fspath(path)
    table = _read_csv(path)
    groups = []
    for design in _design_of(table, path):
        columns = DESIGNS[design].columns
        missing = [name for name in columns if name not in table.columns]
        if missing and "level_columns" in table.columns:
            # Identification over a grid: each trial carries two levels, named in level_columns.
            names = sorted({str(value).replace(" ", " and ") for value in table["level_columns"].dropna()})
            raise DataError(
                f"{path!r}: these {design} trials vary two levels at once ({'; '.join(names)}, from a grid);"
                " analyze fits a psychometric function along one level and cannot fit them: fit them with a"
                " 2-D model of your own, or run identification over a set with one level (a continuum)"
            )
        if missing:
            raise DataError(f"{path!r}: {design} data need the column(s) {', '.join(missing)}")
        rows = table[table["design"].astype(str) == design] if "design" in table.columns else table
        if "is_practice" in rows.columns:
            # practice trials (the protocols' --practice) train the participant; they are not data
            practice = pd.to_numeric(rows["is_practice"], errors="coerce").fillna(0) != 0
            rows = rows[~practice]
        rows = rows[rows[columns[-1]].notna()]
        if rows.empty:
            raise DataError(f"{path!r} holds no answered {design} trials (column {columns[-1]!r} is empty)")
        try:
            levels = rows[list(columns[:-1])].to_numpy(dtype=np.float64)
            responses = rows[columns[-1]].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{path!r}: the columns {', '.join(columns)} must hold numbers") from None
        if not np.all(np.isfinite(levels)):
            raise DataError(f"{path!r}: a {', '.join(columns[:-1])} cell of an answered trial is empty")
        far = np.flatnonzero(np.any(np.abs(levels) > MAX_DATA_LEVEL, axis=1))
        if len(far):
            row = rows.index[far[0]]
            raise DataError(
                f"{path!r} line {_line(row)}: a level of {np.abs(levels[far[0]]).max():g} lies outside"
                f" -{MAX_DATA_LEVEL:g} to {MAX_DATA_LEVEL:g}, further out than any gaia-stim set's levels (the fit"
                " cannot use it); correct the cell or drop the row"
            )
        if not np.all((responses == 0) | (responses == 1)):
            bad = responses[(responses != 0) & (responses != 1)][0]
            raise DataError(f"{path!r}: {columns[-1]} must be 0 or 1; found {bad!r}")
        if "participant" in rows.columns and rows["participant"].notna().any():
            participants = rows["participant"].astype(str).where(rows["participant"].notna(), "")
        else:
            participants = pd.Series(os.path.splitext(os.path.basename(path))[0], index=rows.index)
        for participant in sorted(participants.unique()):
            mask = (participants == participant).to_numpy()
            groups.append((design, participant, levels[mask], responses[mask]))
    return groups


def read_data_files(paths):
    """Many data files -> ``{(design, participant): (levels, responses)}``, files of one participant joined."""
    if not paths:
        raise DataError("no data files given; pass one or more PsychoPy CSV data files")
    joined = {}
    for path in paths:
        for design, participant, levels, responses in read_data_file(path):
            key = (design, participant)
            if key in joined:
                old_levels, old_responses = joined[key]
                levels = np.concatenate([old_levels, levels])
                responses = np.concatenate([old_responses, responses])
            joined[key] = (levels, responses)
    return joined
