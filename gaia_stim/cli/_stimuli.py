"""Options every stimulus command shares: the model, the output folder, spacing, low-level control."""

import functools

import click

from gaia_stim.cli._common import FiniteFloat, device_option, echo, model_option
from gaia_stim.core.spacings import KIND_SPACINGS, SPACINGS
from gaia_stim.metrics import METRICS

METRIC = click.Choice(METRICS)


def spacing_options(kind):
    """--spacing (the spacings ``kind`` takes, gaia_stim.core.spacings.KIND_SPACINGS) and --metric."""
    choices = KIND_SPACINGS[kind]

    def decorate(command):
        command = click.option(
            "--metric", default="pixel", show_default=True, type=METRIC,
            help="Image distance recorded for every step and equalised by --spacing equal (nlpd needs"
                 " gaia-stim[perceptual]; feature needs a run folder whose checkpoint holds the discriminator).",
        )(command)
        return click.option(
            "--spacing", default="linear", show_default=True, type=click.Choice(choices),
            help="; ".join(f"{name}: {SPACINGS[name]}" for name in choices) + ".",
        )(command)

    return decorate


def set_options(command):
    """--model, --out, --force, --device, low-level control and --movie; passed on as ``options``."""

    @model_option()
    @click.option("--out", "out_dir", default=None, type=click.Path(), help="Folder to write the stimulus set to.")
    @click.option("--force", is_flag=True, help="Replace the --out folder if it holds a stimulus set.")
    @device_option
    @click.option("--greyscale", is_flag=True, help="Write grey images (BT.601 luminance).")
    @click.option("--size", type=click.IntRange(8, 4096), default=None,
                  help="Final width and height in pixels (Lanczos resampling).")
    @click.option("--match", type=click.Choice(["luminance", "histogram"]), default=None,
                  help="Equalise the figures' mean luminance and RMS contrast, or their histograms, across the set"
                       " (grey images); the plain background is set to --background instead (see --figure).")
    @click.option("--mask", type=click.Choice(["circle", "oval", "raised-cosine"]), default=None,
                  help="Show each image through a mask on the --background grey; the plain background inside it"
                       " is set to that grey too (see --figure), so no disc shows on a window of that grey.")
    @click.option("--figure", "figure", default=None, metavar="auto|whole|FILE",
                  help="What --match matches. auto (the default with --match or --mask): each image's figure, the"
                       " pixels that differ by more than 6/255 from its plain border's grey; its background is set to"
                       " --background (a set whose images have no plain border falls back to whole, with a warning)."
                       " whole: everything inside the mask, background included (SHINE; no split: with --mask alone"
                       " the source's own ground shows inside the mask). FILE: a mask image, white on the figure."
                       " Without --match, auto or FILE only puts the background on --background.")
    @click.option("--background", type=FiniteFloat(0, 1), default=0.5, show_default=True,
                  help="Grey outside the mask and, when figures are split, of every background pixel, 0 (black) to 1"
                       " (white): set the experiment's window to it (the manifest records the grey written as"
                       " ground.level; the PsychoPy protocols read it).")
    @click.option("--movie", type=click.Choice(["gif", "mp4"]), default=None,
                  help="Also write the images in order as morph.gif or morph.mp4.")
    @functools.wraps(command)
    def wrapper(*args, model_name, out_dir, force, device, greyscale, size, match, mask, figure, background, movie,
                **kwargs):
        options = dict(model_name=model_name, out_dir=out_dir, force=force, device=device, greyscale=greyscale,
                       size=size, match=match, mask=mask, figure=figure, background=background, movie=movie)
        return command(*args, options=options, **kwargs)

    return wrapper


def load(options):
    """The model, and the Adjustment and movie format checked before any work is done."""
    import gaia_stim
    from gaia_stim.io.movies import check_movie
    from gaia_stim.stimuli.lowlevel import Adjustment

    adjust = None
    if options["greyscale"] or options["size"] or options["match"] or options["mask"] or options["figure"]:
        adjust = Adjustment(options["greyscale"], options["size"], options["match"], options["mask"],
                            options["background"], options["figure"])
    movie = check_movie(options["movie"])
    return gaia_stim.load_model(options["model_name"], device=options["device"]), adjust, movie


def write(result, model, options, adjust, movie, default_out):
    """Write ``result`` and report what was written."""
    from gaia_stim.io.sets import write_set

    out_dir = options["out_dir"] or default_out
    write_set(out_dir, result, model, force=options["force"], adjust=adjust, movie=movie)
    n_images = len(result["rows"])
    echo(f"wrote {n_images} images, stimuli.csv, manifest.json and contact_sheet.png to {out_dir}")
    details = [f"{model.image_size}x{model.image_size}x{model.channels}"]
    if getattr(model, "preset", None):
        details.insert(0, f"preset {model.preset}")
    if getattr(model, "file_sha256", None):
        details.append(f"sha256 {model.file_sha256[:12]}")
    echo(f"model: {model.name} ({', '.join(details)})")
    summary = result.get("summary") or {}
    if "step_distance_cv" in summary:
        echo(f"step distances ({summary['step_distance_metric']}): mean {summary['step_distance_mean']:.4g},"
             f" CV {100 * summary['step_distance_cv']:.2f} %")
    from gaia_stim.io.sets import source_name
    from gaia_stim.stimuli._common import FAR_SOURCE_SSIM

    for source in result["sources"]:
        name = source_name(source["source"])
        echo(f"{name}: {', '.join(source['changes'])}" if source["changes"] else f"{name}: used as is")
    for source in result["sources"]:
        ssim = source.get("reconstruction_ssim")
        if ssim is None:
            continue
        name = source_name(source["source"])
        echo(f"source {source['role']} ({name}): the model reconstructs it with SSIM {ssim:.3f} against the prepared source")
        if ssim < FAR_SOURCE_SSIM:
            echo(f"Warning: source {source['role']} ({name}) is far outside what this model reconstructs well (SSIM"
                 f" {ssim:.3f} < {FAR_SOURCE_SSIM}): the steps near it will not look like it; compare the two in the"
                 " contact sheet's top row, or train a model on images like it", err=True)
