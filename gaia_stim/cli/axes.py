"""``gaia-stim axes fit``: latent directions for the attributes of labelled images."""

import os

import click

from gaia_stim.cli._common import device_option, echo, model_option, reports_errors


@click.group("axes")
def axes():
    """Attribute axes: latent directions that change one labelled attribute."""


@axes.command("fit")
@click.option(
    "--images", "images_dir", required=True, type=click.Path(exists=True, file_okay=False),
    help="Folder the labels table's file names are relative to.",
)
@click.option(
    "--labels", "labels_path", required=True, type=click.Path(exists=True, dir_okay=False),
    help="CSV with a file column (file, image_file, image, filename or path) and one column per attribute;"
    " attributes.csv of 'gaia-stim faces' works as it is.",
)
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False),
    help="Axes file to write (.npz); it records the model's sha256.",
)
@model_option()
@click.option(
    "--method", default="joint", show_default=True, type=click.Choice(["joint", "mean-difference"]),
    help="joint: OLS of the codes on all attributes together; mean-difference: one attribute at a time"
    " (the entangled baseline).",
)
@click.option(
    "--metric", default="covariance", show_default=True, type=click.Choice(["covariance", "euclidean"]),
    help="Inner product used to make an axis orthogonal to others (docs/axes.md).",
)
@click.option(
    "--cv", default=5, show_default=True, type=click.IntRange(min=2, max=100),
    help="Cross-validation folds for each attribute's R^2.",
)
@click.option(
    "--calibrate/--no-calibrate", default=True, show_default=True,
    help="Lengthen each axis by what the model's images lose of it (decoded, re-encoded, read out), so"
    " amounts are in attribute units in the images, not only in the codes.",
)
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@device_option
@reports_errors
def fit(images_dir, labels_path, out_path, model_name, method, metric, cv, calibrate, force, device):
    """Fit attribute axes to labelled images and print each attribute's R^2.

    \b
    Example:
      gaia-stim faces --n 3000 --out faces --seed 1
      gaia-stim axes fit --images faces --labels faces/attributes.csv --out faces_axes.npz
    """
    import warnings

    import numpy as np

    import gaia_stim
    from gaia_stim.io.labels import read_labels_table
    from gaia_stim.core.ownership import check_output_file
    from gaia_stim.stimuli.axes import AttributeAxesWarning, fit_axes, is_axes_file, save_axes

    check_output_file(out_path, force, "an attribute axes file", owned=is_axes_file, inputs=(labels_path, images_dir))
    labels = read_labels_table(labels_path, images_dir)  # checked before the model loads: bad tables fail fast
    model = gaia_stim.load_model(model_name, device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AttributeAxesWarning)
        fitted = fit_axes(model, labels, calibrate=calibrate, method=method, metric=metric, cv=cv)
    save_axes(fitted, out_path, model.file_sha256)

    echo(f"fitted {len(fitted.attribute_names_)} axes ({method}) on {fitted.n_images_} images; wrote {out_path}")
    if labels["skipped"]:
        echo(f"identifier columns (one value per image) left out: {', '.join(labels['skipped'])}")
    width = max(len(name) for name in fitted.attribute_names_)
    echo(f"{'attribute':<{width}}  {'R^2':>6}  {'gain':>6}   (R^2: cross-validated read-out from the codes;"
         " gain: share of a step the images keep)")
    for name, r2, gain in zip(fitted.attribute_names_, fitted.r2_, fitted.readout_gain_):
        echo(f"{name:<{width}}  {r2:6.3f}  {gain:6.2f}" if np.isfinite(gain) else f"{name:<{width}}  {r2:6.3f}       -")
    for warning in caught:
        if issubclass(warning.category, AttributeAxesWarning):
            echo(f"warning: {warning.message}", err=True)
