"""Labels tables: a CSV naming each image's file and its attributes, checked before any fit.

The shape ``gaia-stim faces`` writes (``attributes.csv``) is the model::

    file,face_id,head_width,jaw_width,...
    face_00000.png,face_00000,0.555,0.396,...

* Columns are separated by commas, or by semicolons (with decimal commas) as spreadsheets save
  them in many locales.
* One column names each image's file, relative to the image folder: the first of
  :data:`FILE_COLUMNS` present.
* Numeric and True/False columns are attributes as they are; text columns are categorical
  (one-hot encoded by :class:`~gaia_stim.stimuli.axes.AttributeAxes`); a text column with a
  different value in every row (an identifier such as ``face_id``) is not an attribute and is
  skipped.
* Every problem is one :class:`~gaia_stim.core.errors.DataError` naming the file, the column, the
  line and the fix: missing images, a name listed twice, a cell that is not a number in a column
  of numbers, an empty or infinite cell, a column with one value, fewer images than attributes.
"""

import io
import os

import numpy as np
import pandas as pd

from gaia_stim.core.errors import DataError
from gaia_stim.core.schemas import check_inside, read_text

__all__ = ["FILE_COLUMNS", "read_labels_table"]

FILE_COLUMNS = ("file", "image_file", "image", "filename", "path")


def _line(row):
    return int(row) + 2  # the header is line 1


def _some(items, limit=3):
    items = list(items)
    shown = ", ".join(repr(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_labels_table(labels_path, images_dir):
    """Read and check a labels table.

    Parameters
    ----------
    labels_path : str or path-like
        The CSV file.
    images_dir : str or path-like
        The folder the file names are relative to.

    Returns
    -------
    dict
        ``paths``: list of image paths (in table order); ``attributes``: DataFrame with one
        column per attribute; ``skipped``: names of identifier columns left out; ``file_column``.

    Raises
    ------
    DataError
        The table cannot be used; the message names the file, the column or line, and the fix.
    """
    labels_path, images_dir = os.fspath(labels_path), os.fspath(images_dir)
    where = repr(labels_path)
    decimal_comma = False
    text = read_text(labels_path, "labels table")  # UTF-8 (with or without a byte-order mark), or one clear error
    try:
        # Every cell as text first, so the checks below can name the exact cell that is wrong.
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        if len(table.columns) == 1 and ";" in str(table.columns[0]):
            # a spreadsheet saved in a locale that separates with ';' and writes decimal commas
            table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True, sep=";")
            decimal_comma = True
    except pd.errors.EmptyDataError:
        raise DataError(f"labels table {where} is empty; it needs a header line and one line per image") from None
    except pd.errors.ParserError as error:
        raise DataError(f"labels table {where} is not a readable CSV ({str(error).splitlines()[0]})") from None
    if len(table) == 0:
        raise DataError(f"labels table {where} has a header but no rows; add one line per image")
    table.columns = [str(name).strip() for name in table.columns]
    if len(set(table.columns)) != len(table.columns):
        raise DataError(f"labels table {where} repeats a column name; give each column its own name")

    file_column = next((name for name in FILE_COLUMNS if name in table.columns), None)
    if file_column is None:
        raise DataError(
            f"labels table {where} has no column naming the image files; call it one of {list(FILE_COLUMNS)}"
            f" (got columns {list(table.columns)[:6]})"
        )
    names = table[file_column].str.strip()
    repeated = names[names.duplicated(keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        lines = [_line(row) for row in np.flatnonzero(names.to_numpy() == first)]
        raise DataError(
            f"labels table {where}: image {first!r} is listed more than once (lines {_some(lines)});"
            " give each image one row"
        )
    for row, name in enumerate(names):
        if not name:
            raise DataError(f"labels table {where}, column {file_column!r}, line {_line(row)}: the cell is empty;"
                            " fill it in or drop the row")
        reason = check_inside(name)  # a file name reaches only images inside --images, as --images would
        if reason is not None:
            raise DataError(
                f"labels table {where}, column {file_column!r}, line {_line(row)}: {name!r} is {reason}, outside"
                f" {images_dir!r}; name each image relative to the image folder (e.g. face_001.png or sub/face_001.png)"
            )
    paths = [os.path.join(images_dir, *name.split("/")) for name in names]
    missing = [name for name, path in zip(names, paths) if not os.path.isfile(path)]
    if missing:
        raise DataError(
            f"labels table {where} names {len(missing)} image(s) not found in {images_dir!r}: {_some(missing)};"
            " check --images, or drop those rows"
        )

    attributes, skipped = {}, []
    for name in table.columns:
        if name == file_column:
            continue
        cells = table[name].str.strip()
        numbers = [_as_number(cell.replace(",", ".") if decimal_comma else cell) for cell in cells]
        empty = np.flatnonzero((cells == "").to_numpy())
        if len(empty):
            raise DataError(
                f"labels table {where}, column {name!r}, line {_line(empty[0])}: the cell is empty;"
                " fill it in or drop the row"
            )
        text = [row for row, number in enumerate(numbers) if number is None]
        if len(text) == len(cells):  # a text column
            if cells.str.lower().isin(["true", "false"]).all():
                attributes[name] = cells.str.lower() == "true"
            elif cells.nunique() == len(cells):
                skipped.append(name)  # an identifier: one value per image
            else:
                attributes[name] = cells
            continue
        if text:
            raise DataError(
                f"labels table {where}, column {name!r}, line {_line(text[0])}: {cells.iloc[text[0]]!r}"
                " is not a number, but the column's other cells are; correct it, or make the whole column text"
            )
        values = np.array(numbers)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise DataError(
                f"labels table {where}, column {name!r}, line {_line(bad[0])}: {cells.iloc[bad[0]]!r} is not"
                " a finite number; give a value or drop the row"
            )
        attributes[name] = values
    for name, values in attributes.items():
        if pd.Series(values).nunique() == 1:
            raise DataError(
                f"labels table {where}: column {name!r} has the same value ({table[name].iloc[0].strip()!r}) in"
                " every row, so it has no direction; drop the column"
            )
    if not attributes:
        raise DataError(
            f"labels table {where} has no attribute columns (only {[file_column] + skipped}); add numeric,"
            " True/False or category columns"
        )
    attributes = pd.DataFrame(attributes)
    n_attributes = sum(
        attributes[name].nunique() - 1 if attributes[name].dtype == object else 1 for name in attributes.columns
    )
    if len(attributes) <= n_attributes + 1:
        raise DataError(
            f"labels table {where} has {len(attributes)} images for {n_attributes} attributes; OLS needs more"
            f" images than attributes plus one: give at least {n_attributes + 2} (ideally {10 * n_attributes}"
            " or more)"
        )
    return {"paths": paths, "attributes": attributes, "skipped": skipped, "file_column": file_column}
