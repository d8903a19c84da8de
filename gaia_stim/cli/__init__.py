"""The ``gaia-stim`` command line: one click group, one module per command.

Command modules import torch inside their command bodies, so ``gaia-stim --help``
stays instant.
"""

import click

from gaia_stim._version import __version__
from gaia_stim.cli._common import THREADS, THREADS_HELP, apply_threads, install_sigterm_handler, install_warning_lines
from gaia_stim.cli.continuum import continuum
from gaia_stim.cli.explore import explore
from gaia_stim.cli.faces import faces
from gaia_stim.cli.info import info
from gaia_stim.cli.prepare import prepare
from gaia_stim.cli.train import train
from gaia_stim.cli.trials import trials
from gaia_stim.cli.analyze import analyze
from gaia_stim.cli.attribute import attribute
from gaia_stim.cli.axes import axes
from gaia_stim.cli.grid import grid
from gaia_stim.cli.mean import mean
from gaia_stim.cli.scale import scale
from gaia_stim.cli.verify import verify
from gaia_stim.cli.wheel import wheel


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaia-stim")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.option("--threads", type=THREADS, default=None, help=THREADS_HELP)
@click.pass_context
def main(ctx, debug, threads):
    """Controlled visual stimuli for psychophysics from a GAIA model."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    apply_threads(threads)
    install_sigterm_handler()
    install_warning_lines()


main.add_command(train)
main.add_command(prepare)
main.add_command(continuum)
main.add_command(faces)
main.add_command(info)
main.add_command(trials)
main.add_command(analyze)
main.add_command(scale)
main.add_command(axes)
main.add_command(attribute)
main.add_command(grid)
main.add_command(wheel)
main.add_command(mean)
main.add_command(verify)
main.add_command(explore)
