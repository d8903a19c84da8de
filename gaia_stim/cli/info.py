"""``gaia-stim info``: what a model is and how it was trained."""

import json

import click

from gaia_stim.cli._common import echo, model_option, reports_errors


@click.command("info")
@model_option(help="'default', a run folder or a model file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@reports_errors
def info(model_name, as_json):
    """Describe a model: size, latent, preset, training recipe, file hash."""
    import gaia_stim

    model = gaia_stim.load_model(model_name)
    record = {
        "model": model.name,
        "path": model.path,
        "sha256": model.file_sha256,
        "preset": model.preset,
        "image_size": model.image_size,
        "channels": model.channels,
        "latent_dim": model.latent_dim,
        "content_dim": model.content_dim,
        "style_dim": model.style_dim,
        "gaia_stim_version": model.version,
        "training": model.training,
    }
    if as_json:
        echo(json.dumps(record, indent=2, sort_keys=True))
        return
    for key, value in record.items():
        if key != "training":
            echo(f"{key:>18}: {value}")
    for key, value in sorted(model.training.items()):
        echo(f"{'training.' + key:>18}: {value}")
