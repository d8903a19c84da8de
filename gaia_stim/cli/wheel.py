"""``gaia-stim wheel``: images on a circle around a centre image, for continuous-report experiments."""

import click

from gaia_stim.cli._common import FiniteFloat, reports_errors
from gaia_stim.cli._stimuli import load, set_options, spacing_options, write
from gaia_stim.core.limits import MAX_WHEEL_IMAGES


@click.command("wheel")
@click.option("--centre", required=True, type=click.Path(exists=True, dir_okay=False), help="The wheel's centre image.")
@click.option("--towards", "towards", nargs=2, required=True, type=click.Path(exists=True, dir_okay=False),
              help="Two images that set the wheel's plane (0 degrees points towards the first).")
@click.option("--n", "n_images", default=24, show_default=True, type=click.IntRange(3, MAX_WHEEL_IMAGES),
              help="Images around the wheel.")
@click.option("--radius", type=FiniteFloat(0, min_open=True), default=None,
              help="Radius in latent units [default: half the mean distance from the centre to the --towards images].")
@click.option("--step-distance", type=FiniteFloat(0, min_open=True), default=None,
              help="Instead of --radius: choose the radius so neighbouring images are this far apart in --metric (mean).")
@spacing_options("wheel")
@set_options
@reports_errors
def wheel(centre, towards, n_images, radius, step_distance, spacing, metric, options):
    """A stimulus wheel: N images on a circle in a latent plane around a centre image.

    Each image's angle is in stimuli.csv; with --spacing equal the angles are moved so that
    neighbouring images are equally far apart in --metric.

    \b
    Example:
      gaia-stim wheel --centre c.png --towards a.png b.png --n 24 --spacing equal
    """
    from gaia_stim.stimuli.wheels import wheel as make_wheel

    model, adjust, movie = load(options)
    result = make_wheel(model, centre, *towards, n_images=n_images, radius=radius, spacing=spacing, metric=metric,
                        step_distance=step_distance)
    write(result, model, options, adjust, movie, "wheel")
