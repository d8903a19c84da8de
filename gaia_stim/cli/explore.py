"""``gaia-stim explore``: a local web page to find stimuli by eye and export them as stimulus sets."""

import os

import click

from gaia_stim.cli._common import device_option, echo, model_option, reports_errors


@click.command("explore")
@model_option()
@click.option("--images", "images_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder whose images the page offers as sources (nothing outside it is served).")
@click.option("--axes", "axes_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Axes file from 'gaia-stim axes fit' for this model: one slider per attribute.")
@click.option("--out-root", default=".", show_default=True, type=click.Path(exists=True, file_okay=False),
              help="Exports are written to folders inside it (uploads go to OUT_ROOT/explore_uploads).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but 127.0.0.1 lets other machines reach the page (token still"
                   " needed).")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; just print the address.")
@device_option
@reports_errors
def explore(model_name, images_dir, axes_path, out_root, host, port, no_browser, device):
    """Find stimuli by eye: morph, grid, wheel and attribute views, exported as stimulus sets.

    Serves a page on this machine (the printed address carries a one-time token). Every export
    is written by the same writer as the commands, and the page shows the command line that
    writes the same set.

    \b
    Examples:
      gaia-stim explore --images examples/faces
      gaia-stim explore --model runs/faces --images faces --axes faces_axes.npz --out-root sets
    """
    from gaia_stim.explore import require_server

    require_server()
    import gaia_stim
    from gaia_stim.explore.server import serve
    from gaia_stim.explore.state import ExploreSession

    model = gaia_stim.load_model(model_name, device=device)
    axes = None
    if axes_path is not None:
        from gaia_stim.stimuli.axes import load_axes

        axes = load_axes(axes_path, model_sha256=model.file_sha256)
    session = ExploreSession(model, images_dir=images_dir, axes=axes, axes_path=axes_path, out_root=out_root)
    if host not in ("127.0.0.1", "localhost", "::1"):
        echo(f"Warning: listening on {host}: anyone who can reach this machine and has the address can read the"
             " images folder and write sets into the output root", err=True)
    echo(f"model: {model.name} ({model.image_size}x{model.image_size}x{model.channels}); exports go to"
         f" {os.path.abspath(out_root)}")
    serve(session, host=host, port=port, open_browser=not no_browser, announce=echo)
