"""Kinds of stimuli built on a loaded model; each returns a result and never writes files.

A result is one flat dict (the images or their latents, every parameter, the table rows, the
sources) that :func:`gaia_stim.io.sets.write_set` writes as a stimulus set. A new kind needs one
module here (with ``from_parameters`` for ``gaia-stim verify --regenerate``), one entry in
:data:`KINDS`, and one thin command.

Attribute axes are not one of those kinds: ``gaia_stim.stimuli.axes`` (the AttributeAxes
estimator) and ``gaia_stim.stimuli.leakage`` (an image moved along an axis, and what else
changes) are imported by name, so importing this package does not import scikit-learn.
"""

from gaia_stim.stimuli.continua import continuum
from gaia_stim.stimuli.grids import grid
from gaia_stim.stimuli.means import mean_image
from gaia_stim.stimuli.wheels import wheel

__all__ = ["KINDS", "continuum", "grid", "wheel", "mean_image"]

# kind (as the manifest states it) -> the module that makes it
KINDS = {
    "continuum": "gaia_stim.stimuli.continua",
    "grid": "gaia_stim.stimuli.grids",
    "wheel": "gaia_stim.stimuli.wheels",
    "mean": "gaia_stim.stimuli.means",
}
