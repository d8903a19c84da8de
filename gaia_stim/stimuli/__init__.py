"""Stimulus generators built on a loaded model: continua (and later grids and attribute axes)."""

from gaia_stim.stimuli.continua import continuum

__all__ = ["continuum"]
