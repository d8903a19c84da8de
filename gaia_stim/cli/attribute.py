"""``gaia-stim attribute``: one image moved along an attribute axis, with a leakage report."""

import os

import click

from gaia_stim.cli._common import FiniteFloat, device_option, echo, model_option, reports_errors
from gaia_stim.core.limits import CORRECTIONS, MAX_CORRECTIONS, MAX_STEPS


@click.command("attribute")
@click.option(
    "--axes", "axes_path", required=True, type=click.Path(exists=True, dir_okay=False),
    help="Axes file from 'gaia-stim axes fit'.",
)
@click.option("--axis", required=True, help="The attribute to change (a name 'axes fit' printed).")
@click.option(
    "--image", "image_path", required=True, type=click.Path(exists=True, dir_okay=False),
    help="The image to manipulate.",
)
@click.option(
    "--orthogonal-to", "orthogonal_to", multiple=True,
    help="Another axis the direction must not move (repeat for more; 'all' for every other axis).",
)
@click.option(
    "--range", "amount_range", nargs=2, type=FiniteFloat(), default=(-3.0, 3.0), show_default=True,
    help="First and last amount, in units of the attribute (e.g. -3 3 for a 0/1 attribute, as in the paper).",
)
@click.option(
    "--steps", "n_steps", default=7, show_default=True, type=click.IntRange(min=2, max=MAX_STEPS),
    help=f"Number of images, both ends included (2 to {MAX_STEPS}).",
)
@click.option(
    "--corrections", default=CORRECTIONS, show_default=True, type=click.IntRange(min=0, max=MAX_CORRECTIONS),
    help="How many times each step's image is read back and its code steered, so that the image changes the axis'"
         " attribute by the amount and the other attributes by nothing; 0: the straight line along the axis.",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(),
    help="Folder to write the stimulus set to; the leakage report goes to OUT.leakage.csv and OUT.leakage.png.",
)
@model_option(help="The model the axes were fitted on: 'default', or a run folder or model file.")
@click.option("--force", is_flag=True, help="Replace the --out set (and its leakage report) if it exists.")
@device_option
@reports_errors
def attribute(axes_path, axis, image_path, orthogonal_to, amount_range, n_steps, corrections, out_dir, model_name, force,
              device):
    """Change one attribute of an image in equal steps and report what else changes.

    \b
    Example:
      gaia-stim attribute --axes faces_axes.npz --axis mouth_curvature --image face.png \\
          --orthogonal-to all --range -0.3 0.3 --steps 7 --out smile
    """
    import numpy as np

    import gaia_stim
    from gaia_stim.io.sets import report_paths, write_set
    from gaia_stim.stimuli.attributes import attribute_set
    from gaia_stim.stimuli.axes import load_axes

    if amount_range[0] == amount_range[1]:
        raise click.BadParameter(
            f"both ends are {amount_range[0]:g}; give two different amounts, e.g. --range -3 3", param_hint="'--range'"
        )
    model = gaia_stim.load_model(model_name, device=device)
    axes = load_axes(axes_path, model_sha256=model.file_sha256)
    amounts = np.linspace(amount_range[0], amount_range[1], n_steps)
    result = attribute_set(model, axes, image_path, axis, amounts, orthogonal_to=list(orthogonal_to) or None,
                           axes_file=axes_path, corrections=corrections)
    write_set(out_dir, result, model, force=force)
    leakage_csv, leakage_png = report_paths(out_dir, result.reports).values()

    echo(f"wrote {n_steps} images, stimuli.csv, manifest.json and contact_sheet.png to {out_dir}")
    echo(f"leakage report: {leakage_csv} and {leakage_png}")
    table = result["leakage"]
    for source in table["source"].unique():
        rows = table[table["source"] == source]
        mine = rows[rows["manipulated"]]
        others = rows[~rows["manipulated"]]
        line = f"{source}: over the range,"
        if len(mine):
            line += f" {axis} changed by {mine['change_over_range'].iloc[0]:+.3g} (asked {np.ptp(amounts):.3g});"
        if len(others):
            worst = others.iloc[int(np.argmax(np.abs(others["change_over_range"].to_numpy())))]
            line += f" largest other change: {worst['attribute']} {worst['change_over_range']:+.3g}"
        echo(line)
    changes = result["changes"]
    echo(f"{os.path.basename(image_path)}: {', '.join(changes)}" if changes else f"{os.path.basename(image_path)}: used as is")
