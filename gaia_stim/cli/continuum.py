"""``gaia-stim continuum``: a morph continuum through two or more images, written as a stimulus set."""

import os

import click
from click.core import ParameterSource

import math

from gaia_stim.cli._common import FiniteFloat, echo, reports_errors
from gaia_stim.cli._stimuli import load, set_options, spacing_options, write

from gaia_stim.core.limits import MAX_STEPS


class LevelList(click.ParamType):
    """Comma-separated morph levels, e.g. ``-0.5,0,0.5,1,1.5``: finite numbers, increasing, each once."""

    name = "L1,L2,..."

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        levels = []
        for item in str(value).split(","):
            try:
                level = float(item)
            except ValueError:
                self.fail(f"{item.strip()!r} in {value!r} is not a number; give levels such as 0,0.25,0.5,1",
                          param, ctx)
            if not math.isfinite(level):
                self.fail(f"{item.strip()!r} in {value!r} is not a finite number", param, ctx)
            levels.append(level)
        if len(levels) < 2:
            self.fail(f"{value!r} gives {len(levels)} level; a continuum needs two or more, e.g. 0,0.5,1", param, ctx)
        for first, second in zip(levels, levels[1:]):
            if not second > first:
                self.fail(f"{value!r}: the levels must increase, each once ({second:g} follows {first:g}); sort them"
                          " and drop repeats", param, ctx)
        return levels


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
              help="LOW HIGH morph levels, e.g. -0.5 1.5 for anti-caricatures and caricatures [default: 0 1; with"
                   " --spacing perceptual, the levels the scale was measured at].")
@click.option("--levels", "levels", type=LevelList(), default=None,
              help="The morph levels themselves, comma-separated and increasing, e.g. -0.5,0,0.5,1,1.5 (instead of"
                   " --steps and --range; within the bounds --range has).")
@click.option("--include-sources", is_flag=True,
              help="Add the sources' own levels (0 and 1; 0, 1, 2 with --via) to the linear steps, e.g. to a"
                   " caricature --range -0.5 1.5 (recorded in the manifest).")
@spacing_options("continuum")
@click.option("--scale", "scale", default=None, type=click.Path(exists=True),
              help="With --spacing perceptual: a folder from 'gaia-stim scale', or its scale.csv, measured on this"
                   " continuum's sources with this model (--stimuli given to gaia-stim scale).")
@click.option("--scale-participant", "scale_participant", default=None,
              help="Whose scale --scale gives: a participant's ID [default: the group mean, or the only participant].")
@click.option("--allow-unmatched-scale", is_flag=True,
              help="Use a --scale that records another model or other sources, or none (a warning; recorded).")
@set_options
@reports_errors
def continuum(image_a, via, image_b, n_steps, level_range, levels, include_sources, spacing, metric, scale,
              scale_participant, allow_unmatched_scale, options):
    """Morph from one image to another through the model's latent space.

    Writes the images, stimuli.csv (PsychoPy conditions), manifest.json, contact_sheet.png and
    the source images into one folder.

    \b
    Examples:
      gaia-stim continuum --from a.png --to b.png --steps 11
      gaia-stim continuum --from a.png --to b.png --spacing equal --metric ssim --range -0.5 1.5
      gaia-stim continuum --from a.png --via b.png --to c.png --steps 21 --movie gif
      gaia-stim continuum --from a.png --to b.png --range -0.5 1.5 --steps 11 --include-sources
      gaia-stim continuum --from a.png --to b.png --levels -0.5,0,0.25,0.5,0.75,1,1.5
      gaia-stim continuum --from a.png --to b.png --spacing perceptual --scale pilot_scale
    """
    from gaia_stim.stimuli.continua import continuum as make_continuum

    # --steps is refused beside --levels only when given: its default is not a choice
    given_steps = click.get_current_context().get_parameter_source("n_steps") != ParameterSource.DEFAULT
    steps = {"n_steps": n_steps} if given_steps or levels is None else {}
    model, adjust, movie = load(options)
    images = (image_a, *via, image_b)
    result = make_continuum(model, *images, **steps, spacing=spacing, metric=metric, level_range=level_range,
                            levels=levels, include_sources=include_sources, scale=scale,
                            scale_participant=scale_participant, allow_unmatched_scale=allow_unmatched_scale)
    write(result, model, options, adjust, movie, _default_out(images))
    if spacing == "perceptual":
        values = result["scale_values"]
        parameters = result.parameters
        echo(f"steps of {(values[-1] - values[0]) / (len(values) - 1):.4g} on the {parameters['scale_participant']}"
             f" scale ({parameters['scale_design']}, {parameters['scale_monotone']}, {parameters['interpolation']}"
             f" interpolation) from morph level {result['morph_levels'][0]:g} to {result['morph_levels'][-1]:g}")
