"""CSV tables that PsychoPy's ``data.importConditions`` reads unchanged (docs/design.md, section 4).

Headers match ``^[A-Za-z][A-Za-z0-9_]*$`` and are unique; each column holds one type (int, float,
bool or str); floats are written as the shortest text that reads back as the same number; text
never looks like a number, a boolean or a missing value (PsychoPy turns "007" into 7).
"""

import csv
import io
import math
import re

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = [
    "text_cell", "looks_like_non_text", "spreadsheet_safe", "check_table", "table_bytes", "psychopy_table_bytes",
    "read_table",
]

# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1+1``, ``@SUM``) gets a
    leading apostrophe, which spreadsheets show as text; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value

_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Cells pandas (and so PsychoPy's importConditions) reads as missing values or booleans rather than
# text; together with anything float() accepts they must never appear in a text column.
_NON_TEXT_WORDS = {
    "", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>",
    "n/a", "na", "null", "nan", "none", "true", "false",
}


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


def check_table(rows, required=()):
    """Validate rows (dicts with the same keys in the same order) for PsychoPy.

    Returns the column names and each column's type; raises InputError naming the first bad
    column, row or cell.
    """
    if not rows:
        raise InputError("a table needs at least one row; got none")
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


def table_bytes(rows, columns, kinds):
    """Checked rows as UTF-8 CSV bytes (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format_cell(row[name], kinds[name]) for name in columns])
    return buffer.getvalue().encode("utf-8")


def psychopy_table_bytes(rows):
    """Rows (dicts with the same keys) as CSV bytes that ``data.importConditions`` reads unchanged.

    Raises InputError naming the first bad column, row or cell.
    """
    if not rows:
        raise InputError("a PsychoPy table needs at least one row; got none")
    columns, kinds = check_table(rows)
    return table_bytes(rows, columns, kinds)


def read_table(path):
    """A CSV file as (header, list of row lists) of text; raises OSError/UnicodeError/csv.Error."""
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    if not rows:
        return [], []
    return rows[0], rows[1:]
