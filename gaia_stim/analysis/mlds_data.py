"""MLDS data files: gaia-stim's column layout and the R package MLDS's, read into trials per participant.

Two layouts (docs/perceptual_scaling.md): gaia-stim's, written by the MLDS protocols (a ``design``
column holding ``mlds-triads`` or ``mlds-quadruples``; ``morph_1..k`` or ``step_1..k`` in
presentation order; ``chose_second_pair``; ``participant``, else the file name; practice trials,
``is_practice`` 1, left out), and the R package MLDS's (``resp``, ``S1``..``S3`` or ``S1``..``S4`` with stimulus ranks from 1). Every cell an
answered trial needs is checked, and a bad one named with its file, column and row. The trials
come out as stimulus indices for :func:`gaia_stim.analysis.mlds_model.fit`.
"""

import os

import numpy as np

from gaia_stim.core.errors import DataError
from gaia_stim.designs.mlds_trials import MLDS_DESIGNS, RESPONSE_COLUMN, TUPLE_SIZE

__all__ = ["LEVEL_COLUMNS", "STEP_COLUMNS", "R_RESPONSE", "R_STIMULI", "index_trials", "read_scale_data"]

LEVEL_COLUMNS = {design: tuple(f"morph_{k}" for k in range(1, size + 1)) for design, size in TUPLE_SIZE.items()}
STEP_COLUMNS = {design: tuple(f"step_{k}" for k in range(1, size + 1)) for design, size in TUPLE_SIZE.items()}
R_RESPONSE = "resp"
R_STIMULI = ("S1", "S2", "S3", "S4")
# *_sha256 columns that name no stimulus set: each participant usually runs a trial list of their
# own (another seed), so the protocols' trial_list_sha256 differs between files of one set
NOT_SET_IDENTITY = ("trial_list_sha256",)


def index_trials(levels):
    """Stimulus indices of trials given by level: ``(trials, stimulus_levels)``.

    Parameters
    ----------
    levels : array of shape (n_trials, 3) or (n_trials, 4)
        Stimulus levels (morph levels, steps or ranks) in presentation order.

    Returns
    -------
    trials : ndarray of int, same shape
        Index of each level in ``stimulus_levels``.
    stimulus_levels : ndarray
        The distinct levels, increasing.
    """
    levels = np.asarray(levels, dtype=np.float64)
    stimulus_levels, inverse = np.unique(levels, return_inverse=True)
    return inverse.reshape(levels.shape).astype(np.int64), stimulus_levels


def _read_table(path):
    import pandas as pd

    try:
        table = pd.read_csv(
            path, encoding="utf-8-sig", index_col=False, skipinitialspace=True, dtype={"participant": str}
        )
    except FileNotFoundError:
        raise DataError(f"data file {path!r} does not exist") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path!r} is not a readable CSV data file ({str(error).splitlines()[0]})") from None
    # A trailing comma on every line (PsychoPy), or R's row names (write.csv), give unnamed columns.
    return table.loc[:, [not str(name).startswith("Unnamed:") for name in table.columns]]


def _r_columns(table):
    """The R package's columns (resp, S1..S3 or S1..S4; any case) of ``table``, or None."""
    by_lower = {str(name).lower(): name for name in table.columns}
    if R_RESPONSE not in by_lower or not all(name.lower() in by_lower for name in R_STIMULI[:3]):
        return None
    stimuli = [by_lower[name.lower()] for name in R_STIMULI if name.lower() in by_lower]
    return by_lower[R_RESPONSE], stimuli


def _numbers(table, columns, path, what):
    import pandas as pd

    values = table[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        cell = table[list(columns)].iloc[row, column]
        raise DataError(
            f"{path!r}: {what} column {columns[column]!r} holds {cell!r} in an answered trial (data row"
            f" {row + 1}), which is not a number; correct it or drop the row"
        )
    return values


def _responses(series, path, column):
    text = series.astype(str).str.strip().str.upper()
    coded = text.map({"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "TRUE": 1.0, "FALSE": 0.0})
    if coded.isna().any():
        bad = str(series[coded.isna()].iloc[0])
        raise DataError(
            f"{path!r}: {column} must be 1 (the second pair looked more different) or 0 (the first); found"
            f" {bad!r}: recode it"
        )
    return coded.to_numpy(dtype=np.float64)


def _participants(rows, path):
    import pandas as pd

    if "participant" in rows.columns and rows["participant"].notna().any():
        return rows["participant"].astype(str).where(rows["participant"].notna(), "")
    return pd.Series(os.path.splitext(os.path.basename(path))[0], index=rows.index)


def _read_one(path):
    """``[(design, participant, layout, levels, steps or None, responses, identity)]`` of one data file."""
    import pandas as pd

    table = _read_table(path)
    identity_columns = [name for name in table.columns
                        if str(name).endswith("_sha256") and str(name) not in NOT_SET_IDENTITY]
    groups = []
    if "design" in table.columns:
        designs = sorted({str(value) for value in table["design"].dropna().unique()} & set(MLDS_DESIGNS))
        if not designs:
            found = sorted({str(value) for value in table["design"].dropna().unique()})
            raise DataError(
                f"{path!r} holds no {' or '.join(MLDS_DESIGNS)} trials (its design column has"
                f" {', '.join(map(repr, found)) or 'nothing'}); give the data of an MLDS experiment"
            )
        for design in designs:
            rows = table[table["design"].astype(str) == design]
            if RESPONSE_COLUMN not in rows.columns:
                raise DataError(
                    f"{path!r}: {design} data need the column {RESPONSE_COLUMN!r} (1: the second pair looked"
                    " more different, 0: the first); add it, or rename the column that holds the answers"
                )
            rows = rows[rows[RESPONSE_COLUMN].notna() & (rows[RESPONSE_COLUMN].astype(str).str.strip() != "")]
            if "is_practice" in rows.columns:
                # practice trials (the protocols' --practice) train the participant; they are not data
                rows = rows[pd.to_numeric(rows["is_practice"], errors="coerce").fillna(0) == 0]
            if rows.empty:
                raise DataError(f"{path!r} holds no answered {design} trials (column {RESPONSE_COLUMN!r} is empty)")
            level_columns, step_columns = LEVEL_COLUMNS[design], STEP_COLUMNS[design]
            has_levels = all(name in rows.columns for name in level_columns)
            has_steps = all(name in rows.columns for name in step_columns)
            if not has_levels and not has_steps:
                missing = [name for name in level_columns if name not in rows.columns]
                raise DataError(
                    f"{path!r}: {design} data need the columns {', '.join(level_columns)} (morph levels in"
                    f" presentation order) or {', '.join(step_columns)}; missing {', '.join(missing)}"
                )
            responses = _responses(rows[RESPONSE_COLUMN], path, RESPONSE_COLUMN)
            steps = _numbers(rows, step_columns, path, "step") if has_steps else None
            levels = _numbers(rows, level_columns, path, "level") if has_levels else None
            layout = "gaia-stim" if has_levels else "gaia-stim steps"
            for participant, mask in _split(rows, path):
                groups.append((
                    design, participant, layout,
                    (levels if levels is not None else steps)[mask],
                    None if steps is None else steps[mask],
                    responses[mask], _identity(rows[mask], identity_columns),
                ))
        return groups
    found = _r_columns(table)
    if found is None:
        raise DataError(
            f"{path!r} has neither a 'design' column (gaia-stim's layout: design, morph_1.., {RESPONSE_COLUMN})"
            " nor the R package MLDS's columns resp, S1, S2, S3[, S4]; see docs/perceptual_scaling.md"
        )
    response_column, stimulus_columns = found
    rows = table[table[response_column].notna()]
    if rows.empty:
        raise DataError(f"{path!r} holds no answered trials (column {response_column!r} is empty)")
    design = "mlds-triads" if len(stimulus_columns) == 3 else "mlds-quadruples"
    ranks = _numbers(rows, stimulus_columns, path, "stimulus")
    if np.any(ranks != np.round(ranks)) or np.any(ranks < 1):
        raise DataError(
            f"{path!r}: the R layout's {', '.join(stimulus_columns)} hold stimulus ranks 1, 2, ...; found"
            f" {ranks[(ranks != np.round(ranks)) | (ranks < 1)][0]!r}"
        )
    responses = _responses(rows[response_column], path, response_column)
    for participant, mask in _split(rows, path):
        groups.append((design, participant, "R", ranks[mask], None, responses[mask],
                       _identity(rows[mask], identity_columns)))
    return groups


def _split(rows, path):
    participants = _participants(rows, path)
    for participant in sorted(participants.unique()):
        yield participant, (participants == participant).to_numpy()


def _identity(rows, columns):
    values = {}
    for name in columns:
        found = sorted({str(v) for v in rows[name].dropna().unique()})
        if found:
            values[name] = found
    return values


def read_scale_data(paths, stimuli=None):
    """Read MLDS data files: one group of trials per (design, participant).

    Two layouts (docs/perceptual_scaling.md): gaia-stim's (a ``design`` column holding
    ``mlds-triads`` or ``mlds-quadruples``; ``morph_1..k`` or ``step_1..k`` in presentation order;
    ``chose_second_pair``; ``participant``, else the file name; rows with ``is_practice`` other than 0
    are left out) and the R package MLDS's (``resp``,
    ``S1``..``S3`` or ``S1``..``S4`` with stimulus ranks from 1). Files of one participant and design
    are joined.

    Parameters
    ----------
    paths : list of str
    stimuli : list of dict or None, default=None
        The stimulus set's continuum (``step``, ``morph_level``, sorted by level), from
        ``--stimuli``: levels are checked against it, steps filled in from it, and R ranks mapped to
        its levels (rank r is its r-th level).

    Returns
    -------
    dict
        ``groups``: ``{(design, participant): {"trials", "responses", "levels", "steps", "layout"}}``
        with ``trials`` the stimulus indices, ``levels`` the distinct stimulus levels (None where
        unknown: R ranks without ``stimuli``), ``steps`` (None where unknown); ``identity``:
        ``{column: value}`` of the ``*_sha256`` columns the data carry (all but ``trial_list_sha256``).
    """
    if not paths:
        raise DataError("no data files given; pass one or more MLDS data files (CSV)")
    joined, identity = {}, {}
    for path in paths:
        path = os.fspath(path)
        for design, participant, layout, values, steps, responses, ids in _read_one(path):
            for name, found in ids.items():
                identity.setdefault(name, {})
                for value in found:
                    identity[name].setdefault(value, path)
            key = (design, participant)
            if key in joined:
                old = joined[key]
                if old["layout"] != layout:
                    raise DataError(
                        f"participant {participant!r}'s {design} data come in two layouts ({old['layout']} in"
                        f" {old['files'][0]!r}, {layout} in {path!r}); give them in one layout"
                    )
                old["values"] = np.concatenate([old["values"], values])
                old["steps"] = None if steps is None or old["steps"] is None else np.concatenate([old["steps"], steps])
                old["responses"] = np.concatenate([old["responses"], responses])
                old["files"].append(path)
            else:
                joined[key] = {"layout": layout, "values": values, "steps": steps, "responses": responses,
                               "files": [path]}
    for name, values in identity.items():
        if len(values) > 1:
            (first, first_file), (second, second_file) = list(values.items())[:2]
            raise DataError(
                f"the data name more than one stimulus set: column {name!r} holds {first[:12]!r}... in"
                f" {first_file!r} and {second[:12]!r}... in {second_file!r}; fit each stimulus set's data separately"
            )
    groups = {key: _resolve_group(key, group, stimuli) for key, group in joined.items()}
    return {"groups": groups, "identity": {name: next(iter(values)) for name, values in identity.items()}}


def _resolve_group(key, group, stimuli):
    design, participant = key
    where = group["files"][0]
    values, layout = group["values"], group["layout"]
    trials, distinct = index_trials(values)
    steps = None
    levels = distinct if layout == "gaia-stim" else None
    if layout == "gaia-stim" and group["steps"] is not None:
        steps = np.full(len(distinct), np.nan)
        steps[trials.reshape(-1)] = group["steps"].reshape(-1)
        for index in range(len(distinct)):
            found = np.unique(group["steps"][trials == index])
            if len(found) > 1:
                raise DataError(
                    f"{where!r}: morph level {distinct[index]!r} comes with steps"
                    f" {', '.join(map(str, found.astype(int)))}; one level must have one step: check the data file"
                )
    if layout == "gaia-stim steps":
        steps = distinct
    if stimuli is not None:
        set_levels = np.array([s["morph_level"] for s in stimuli], dtype=np.float64)
        set_steps = np.array([s["step"] for s in stimuli], dtype=np.float64)
        if layout == "R":
            if distinct.max() > len(stimuli):
                raise DataError(
                    f"{where!r}: participant {participant!r} has stimulus rank {int(distinct.max())} but the"
                    f" --stimuli set has {len(stimuli)} images; give the set the data were collected with"
                )
            positions = distinct.astype(np.int64) - 1
        else:
            reference = set_levels if layout == "gaia-stim" else set_steps
            positions = np.array([int(np.argmin(np.abs(reference - v))) for v in distinct])
            off = np.abs(reference[positions] - distinct) > 1e-9 * max(1.0, float(np.abs(reference).max()))
            if off.any():
                what = "morph level" if layout == "gaia-stim" else "step"
                raise DataError(
                    f"{where!r}: {what} {distinct[off][0]!r} of participant {participant!r} is not one of the"
                    " --stimuli set's; give the set the data were collected with"
                )
        levels, steps = set_levels[positions], set_steps[positions]
    return {
        "trials": trials, "responses": group["responses"], "levels": levels, "steps": steps,
        "ranks": distinct if layout == "R" else np.arange(1, len(distinct) + 1, dtype=np.float64),
        "layout": layout, "files": list(group["files"]),
    }
