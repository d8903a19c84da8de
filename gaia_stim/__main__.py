"""``python -m gaia_stim`` runs the command line, like ``gaia-stim``."""

from gaia_stim.cli import main

main(prog_name="gaia-stim")
