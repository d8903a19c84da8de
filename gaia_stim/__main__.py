"""``python -m gaia_stim`` is the ``gaia-stim`` command."""

from gaia_stim.cli import main

main(prog_name="gaia-stim")
