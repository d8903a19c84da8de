"""Kinds of stimuli built on a loaded model; each returns a StimulusResult and never writes files.

A result (:class:`gaia_stim.io.results.StimulusResult`) holds the images or their latents, the table
rows, file names and labels, every parameter, the prepared sources and a summary;
:func:`gaia_stim.io.sets.write_set`, the one writer, checks it and writes it as a stimulus set.

:data:`KINDS` maps each kind, as a manifest states it, to its module; every module has
``from_parameters(model, sources, parameters)``, with which
:func:`gaia_stim.stimuli.regenerate.regenerate_set` rebuilds a set for ``gaia-stim verify
--regenerate``. A new kind is one module here and one line in :data:`KINDS` (and a thin command).

``gaia_stim.stimuli.axes`` (the AttributeAxes estimator) and ``gaia_stim.stimuli.leakage`` (what
else changes along an axis) are imported by name, and the attribute-series kind imports them only
when it makes a series, so importing this package does not import scikit-learn.
"""

from gaia_stim.io.results import KINDS, StimulusResult
from gaia_stim.stimuli import attributes, continua, grids, means, wheels
from gaia_stim.stimuli.attributes import attribute_set
from gaia_stim.stimuli.continua import continuum
from gaia_stim.stimuli.grids import grid
from gaia_stim.stimuli.means import mean_image
from gaia_stim.stimuli.wheels import wheel

__all__ = ["KINDS", "StimulusResult", "continuum", "grid", "wheel", "mean_image", "attribute_set"]

# kind (as the manifest states it) -> the module that makes it. KINDS is the registry the writer
# checks results against (gaia_stim.io.results.KINDS; io cannot import the kinds themselves).
KINDS.update({
    "continuum": continua,
    "grid": grids,
    "wheel": wheels,
    "mean": means,
    "attribute series": attributes,
})
