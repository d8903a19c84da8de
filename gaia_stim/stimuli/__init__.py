"""Stimulus generators built on a loaded model: continua, and attribute axes.

``gaia_stim.stimuli.axes`` (the AttributeAxes estimator) and ``gaia_stim.stimuli.leakage`` (an
image moved along an axis, and what else changes) are imported by name, so importing this package
does not import scikit-learn.
"""

from gaia_stim.stimuli.continua import continuum

__all__ = ["continuum"]
