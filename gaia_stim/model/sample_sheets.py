"""Image grids written as PNG (training sample sheets)."""

import numpy as np
from PIL import Image

from gaia_stim.model.atomic import atomic_write

__all__ = ["tile_grid", "write_sample_sheet"]


def tile_grid(grid, gap=2, background=1.0, min_tile=64):
    """(rows, cols, S, S, C) float in [0, 1] -> one uint8 image with ``gap`` pixels between tiles.

    Tiles smaller than ``min_tile`` are enlarged by pixel repetition (no smoothing, so
    what is shown is what the network produced).
    """
    grid = np.asarray(grid, dtype=np.float32)
    rows, cols, size, _, channels = grid.shape
    factor = max(1, -(-min_tile // size))
    if factor > 1:
        grid = grid.repeat(factor, axis=2).repeat(factor, axis=3)
        size *= factor
    height = rows * size + (rows + 1) * gap
    width = cols * size + (cols + 1) * gap
    canvas = np.full((height, width, channels), background, dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            top, left = gap + r * (size + gap), gap + c * (size + gap)
            canvas[top : top + size, left : left + size] = grid[r, c]
    canvas = np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    return canvas[:, :, 0] if channels == 1 else canvas


def write_sample_sheet(grid, path):
    """Write :func:`tile_grid` of ``grid`` to ``path`` atomically."""
    image = Image.fromarray(tile_grid(grid))
    atomic_write(path, lambda stream: image.save(stream, format="PNG"))
