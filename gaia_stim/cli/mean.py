"""``gaia-stim mean``: the average of several images (the decoded mean of their codes)."""

import click

from gaia_stim.cli._common import reports_errors
from gaia_stim.cli._stimuli import load, set_options, write


@click.command("mean")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@set_options
@reports_errors
def mean(images, options):
    """The image of the mean latent code of IMAGES (two or more).

    \b
    Example:
      gaia-stim mean faces/*.png --out average_face
    """
    from gaia_stim.stimuli.means import mean_image

    model, adjust, movie = load(options)
    write(mean_image(model, images), model, options, adjust, movie, "mean")
