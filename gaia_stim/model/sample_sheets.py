"""Training sample sheets: inputs, reconstructions and interpolations, one PNG per sample step.

Built on the one tiler, :func:`gaia_stim.core.tiles.tile_grid`.
"""

from PIL import Image

from gaia_stim.core.atomic import atomic_write
from gaia_stim.core.tiles import tile_grid

__all__ = ["write_sample_sheet"]


def write_sample_sheet(grid, path):
    """Write :func:`tile_grid` of ``grid`` to ``path`` atomically."""
    image = Image.fromarray(tile_grid(grid))
    atomic_write(path, lambda stream: image.save(stream, format="PNG"))
