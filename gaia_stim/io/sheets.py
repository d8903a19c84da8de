"""Labelled contact sheets: every stimulus set gets one overview PNG.

Built on the one tiler, :func:`gaia_stim.core.tiles.tile_images` (the trainer's sample sheets
use it too). A set larger than a sheet can show is shown by an even subsample: at most
``MAX_SHEET_SIDE`` columns and rows, taken along each axis of a grid.
"""

import math

import numpy as np

from gaia_stim.core.tiles import tile_images

__all__ = ["MAX_SHEET_SIDE", "sheet_layout", "contact_sheet"]

MAX_SHEET_SIDE = 21
_DEFAULT_COLUMNS = 11


def _even(count, limit):
    """At most ``limit`` evenly spread indices into ``range(count)``, first and last included."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def sheet_layout(n_images, columns=None):
    """Which images a contact sheet shows, and in how many columns.

    ``columns`` given (a grid of rows x columns): rows and columns are each subsampled to at most
    :data:`MAX_SHEET_SIDE`. Otherwise rows of at most 11, balanced, and at most
    ``MAX_SHEET_SIDE`` rows (an even subsample beyond that).
    """
    if columns is None:
        if n_images > _DEFAULT_COLUMNS * MAX_SHEET_SIDE:
            return _even(n_images, _DEFAULT_COLUMNS * MAX_SHEET_SIDE), _DEFAULT_COLUMNS
        rows = math.ceil(n_images / _DEFAULT_COLUMNS)
        return list(range(n_images)), math.ceil(n_images / rows)
    columns = max(1, min(int(columns), n_images))
    n_rows = math.ceil(n_images / columns)
    keep_rows, keep_columns = _even(n_rows, MAX_SHEET_SIDE), _even(columns, MAX_SHEET_SIDE)
    indices = [r * columns + c for r in keep_rows for c in keep_columns if r * columns + c < n_images]
    return indices, len(keep_columns)


def contact_sheet(images, labels, columns, title=None):
    """(N, H, W, C) uint8 -> one RGB PIL image, each tile labelled underneath, tiles framed grey."""
    images = np.asarray(images)
    return tile_images(images, columns, gap=8, margin=10, min_tile=96, labels=list(labels), title=title,
                       outline=(160, 160, 160), mode="RGB")
