"""``gaia-stim grid``: a two-dimensional grid of images spanned by three or four images."""

import click

from gaia_stim.cli._common import FiniteFloat, reports_errors, yes_option
from gaia_stim.cli._stimuli import load, set_options, spacing_options, write
from gaia_stim.core.limits import MAX_GRID_SIDE as MAX_SIDE


@click.command("grid")
@click.option("--image", "images", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="Give 3 (A, B, C: the plane through their codes) or 4 (corners A B / C D) times.")
@click.option("--rows", "n_rows", default=5, show_default=True, type=click.IntRange(2, MAX_SIDE),
              help="Images down (towards C).")
@click.option("--columns", "n_columns", default=5, show_default=True, type=click.IntRange(2, MAX_SIDE),
              help="Images across (towards B).")
@click.option("--u-range", type=(FiniteFloat(), FiniteFloat()), default=(0.0, 1.0), show_default=True,
              help="Extent across (LOW HIGH).")
@click.option("--v-range", type=(FiniteFloat(), FiniteFloat()), default=(0.0, 1.0), show_default=True,
              help="Extent down (LOW HIGH).")
@spacing_options("grid")
@set_options
@yes_option("set_images")
@reports_errors
def grid(images, n_rows, n_columns, u_range, v_range, spacing, metric, options, yes):
    """A grid of images in the plane of three images, or between four corners.

    \b
    Examples:
      gaia-stim grid --image a.png --image b.png --image c.png --rows 7 --columns 7
      gaia-stim grid --image a.png --image b.png --image c.png --image d.png --spacing equal
    """
    from gaia_stim.core.limits import check_work
    from gaia_stim.stimuli.grids import grid as make_grid

    check_work("set_images", n_rows * n_columns, yes, f"a {n_rows} x {n_columns} grid", "lower --rows or --columns")
    model, adjust, movie = load(options)
    result = make_grid(model, images, n_rows, n_columns, spacing, metric, u_range, v_range)
    write(result, model, options, adjust, movie, "grid")
