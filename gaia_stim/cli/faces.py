"""``gaia-stim faces``: a folder of random synthetic faces with their generating parameters."""

import click

from gaia_stim.cli._common import echo, reports_errors


@click.command("faces")
@click.option(
    "--n", "n_faces", required=True, type=click.IntRange(min=1),
    help="Number of faces to write.",
)
@click.option(
    "--size", default=64, show_default=True, type=click.IntRange(min=16, max=512),
    help="Width and height of each image in pixels (16 to 512).",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False),
    help="Folder to write face_00000.png ..., attributes.csv and manifest.json to.",
)
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(min=0),
    help="Seed of the parameter sampling; the same seed writes the same files.",
)
@click.option(
    "--force", is_flag=True, help="Replace the --out folder if it exists and is not empty."
)
@reports_errors
def faces(n_faces, size, out_dir, seed, force):
    """Write random synthetic colour faces and the parameters that made them.

    Each parameter (head shape, hair, eyes, brows, nose, mouth, skin and hair colour) is
    drawn from Beta(2, 2) on [0, 1]; attributes.csv lists them per file, so a face can be
    re-rendered exactly and the true morph between two faces is known.

    \b
    Example:
      gaia-stim faces --n 10000 --out faces64 --seed 0
    """
    import sys

    from gaia_stim.datasets import write_faces

    written = write_faces(
        out_dir, n_faces, size=size, seed=seed, force=force, progress=sys.stderr.isatty()
    )
    echo(
        f"wrote {n_faces} faces of {size}x{size} px (seed {seed}), attributes.csv and manifest.json to {written}"
    )
