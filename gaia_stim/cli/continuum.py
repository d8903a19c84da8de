"""``gaia-stim continuum``: a morph continuum between two images, written as a stimulus set."""

import os

import click

from gaia_stim.cli._common import echo, reports_errors

# A continuum is held in memory while it is written (64 px: 48 KiB an image).
MAX_STEPS = 10_000


def _default_out(path_a, path_b):
    stem_a = os.path.splitext(os.path.basename(path_a))[0]
    stem_b = os.path.splitext(os.path.basename(path_b))[0]
    return f"continuum_{stem_a}_to_{stem_b}"


@click.command("continuum")
@click.option(
    "--from", "image_a", required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Image at morph level 0.",
)
@click.option(
    "--to", "image_b", required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Image at morph level 1.",
)
@click.option(
    "--steps", "n_steps", default=11, show_default=True, type=click.IntRange(min=2, max=MAX_STEPS),
    help=f"Number of images, both endpoints included (2 to {MAX_STEPS}).",
)
@click.option(
    "--model", "model_name", default="default", show_default=True,
    help="'default' (the shipped model), or a run folder or model file from 'gaia-stim train'.",
)
@click.option(
    "--out", "out_dir", default=None, type=click.Path(),
    help="Folder to write the stimulus set to  [default: continuum_<from>_to_<to>].",
)
@click.option("--force", is_flag=True, help="Replace the --out folder if it holds a stimulus set.")
@click.option(
    "--device", default="cpu", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
    help="Where the model runs.",
)
@reports_errors
def continuum(image_a, image_b, n_steps, model_name, out_dir, force, device):
    """Morph from one image to another through the model's latent space.

    Writes the images, stimuli.csv (PsychoPy conditions), manifest.json and
    contact_sheet.png into one folder.

    \b
    Example:
      gaia-stim continuum --from a.png --to b.png --steps 11
    """
    # Imported here so 'gaia-stim --help' does not pay for torch.
    import gaia_stim
    from gaia_stim.stimuli.continua import continuum as make_continuum
    from gaia_stim.stimulus_sets import write_continuum

    if out_dir is None:
        out_dir = _default_out(image_a, image_b)
    model = gaia_stim.load_model(model_name, device=device)
    result = make_continuum(model, image_a, image_b, n_steps=n_steps)
    write_continuum(out_dir, result, model, force=force)

    details = [f"{model.image_size}x{model.image_size}x{model.channels}"]
    if getattr(model, "preset", None):
        details.insert(0, f"preset {model.preset}")
    if getattr(model, "file_sha256", None):
        details.append(f"sha256 {model.file_sha256[:12]}")
    echo(f"wrote {n_steps} images, stimuli.csv, manifest.json and contact_sheet.png to {out_dir}")
    echo(f"model: {model.name} ({', '.join(details)})")
    for path, changes in zip((image_a, image_b), result["input_changes"]):
        name = os.path.basename(path)
        echo(f"{name}: {', '.join(changes)}" if changes else f"{name}: used as is")
