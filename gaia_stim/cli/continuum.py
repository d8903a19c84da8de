"""``gaia-stim continuum``: a morph continuum through two or more images, written as a stimulus set."""

import os

import click

from gaia_stim.cli._common import FiniteFloat, reports_errors
from gaia_stim.cli._stimuli import load, set_options, spacing_options, write

# Steps are decoded and held while they are measured (64 px: 48 KiB an image).
MAX_STEPS = 10_000


def _default_out(paths):
    stems = [os.path.splitext(os.path.basename(path))[0] for path in paths]
    return "continuum_" + "_to_".join(stems)


@click.command("continuum")
@click.option("--from", "image_a", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Image at morph level 0.")
@click.option("--via", "via", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An image the path passes through (repeatable): A -> VIA... -> B, at levels 1, 2, ...")
@click.option("--to", "image_b", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Image at the last whole morph level (1 for two images).")
@click.option("--steps", "n_steps", default=11, show_default=True, type=click.IntRange(min=2, max=MAX_STEPS),
              help=f"Number of images, both ends included (2 to {MAX_STEPS}).")
@click.option("--range", "level_range", type=(FiniteFloat(), FiniteFloat()), default=None,
              help="LOW HIGH morph levels, e.g. -0.5 1.5 for anti-caricatures and caricatures [default: 0 1].")
@spacing_options
@set_options
@reports_errors
def continuum(image_a, via, image_b, n_steps, level_range, spacing, metric, options):
    """Morph from one image to another through the model's latent space.

    Writes the images, stimuli.csv (PsychoPy conditions), manifest.json, contact_sheet.png and
    the source images into one folder.

    \b
    Examples:
      gaia-stim continuum --from a.png --to b.png --steps 11
      gaia-stim continuum --from a.png --to b.png --spacing equal --metric ssim --range -0.5 1.5
      gaia-stim continuum --from a.png --via b.png --to c.png --steps 21 --movie gif
    """
    from gaia_stim.stimuli.continua import continuum as make_continuum

    model, adjust, movie = load(options)
    images = (image_a, *via, image_b)
    result = make_continuum(model, *images, n_steps=n_steps, spacing=spacing, metric=metric, level_range=level_range)
    write(result, model, options, adjust, movie, _default_out(images))
