"""Live generation for running experiments: ImageStim-ready arrays at any morph level or latent.

Adaptive procedures (staircases, QUEST) choose the next morph level from the last answer, so the
image cannot come from a fixed set. :class:`LiveMorph` holds a model and the codes of two endpoint
images and returns, for any level, an array that ``psychopy.visual.ImageStim`` shows upright::

    from psychopy import visual
    from gaia_stim import LiveMorph

    morph = LiveMorph(gaia_stim.load_model("default"), "a.png", "b.png")
    stim = visual.ImageStim(win, image=morph.array(0.5), size=(0.4, 0.4), units="height")
    stim.image = morph.array(0.62)   # next trial

Level t decodes (1 - t) z_a + t z_b, the latent line of ``gaia-stim continuum`` (so the arrays at
the continuum's levels are its images, before 8-bit rounding); t outside [0, 1] extrapolates.

What ImageStim needs, measured on screen with PsychoPy 2026.2.5 (tests/test_psychopy.py reads the
drawn frame back): the first array row is drawn at the bottom, the opposite of image files, so
rows are flipped; a grey (H, W) array is a luminance texture with black -1 and white 1, but a
colour (H, W, 3) array goes through ImageStim's RGB shader, which reads black 0 and white 1 and
clips negative values to black. :func:`to_imagestim` therefore returns grey images as (H, W) in
[-1, 1] and colour images as (H, W, 3) in [0, 1], both flipped. This module does not import
PsychoPy.
"""

import math

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.stimuli._common import MAX_LEVEL
from gaia_stim.stimuli.continua import latent_path

__all__ = ["LiveMorph", "to_imagestim"]


def to_imagestim(images):
    """(H, W, C) or (N, H, W, C) in [0, 1] -> what ImageStim draws upright (see the module docstring).

    One channel: (…, H, W) in [-1, 1]; three channels: (…, H, W, 3) in [0, 1]; rows flipped.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim not in (3, 4) or images.shape[-1] not in (1, 3):
        raise InputError(f"images must have shape (H, W, 1 or 3) or (N, H, W, 1 or 3); got {images.shape}")
    flipped = np.clip(np.flip(images, axis=-3), 0.0, 1.0)
    if images.shape[-1] == 1:
        return np.ascontiguousarray(flipped[..., 0] * 2.0 - 1.0)
    return np.ascontiguousarray(flipped)


class LiveMorph:
    """A model and two endpoint codes, decoding any morph level on demand.

    Parameters
    ----------
    model : StimulusModel
        From :func:`gaia_stim.load_model`.
    image_a, image_b : str, path-like or ndarray
        The endpoints (morph levels 0 and 1), prepared as ``gaia-stim continuum`` prepares them.

    Attributes
    ----------
    latent_a, latent_b : ndarray of shape (latent_dim,)
        The endpoint codes.
    """

    def __init__(self, model, image_a, image_b):
        self.model = model
        codes = np.asarray(model.encode([image_a, image_b]), dtype=np.float32)
        self.latent_a, self.latent_b = codes[0], codes[1]

    def latents(self, levels):
        """(N,) morph levels -> (N, latent_dim) float32 codes on the line from z_a to z_b."""
        levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
        if levels.ndim != 1 or not np.all(np.isfinite(levels)):
            raise InputError(f"morph levels must be finite numbers; got {levels!r}")
        if np.any(levels < -MAX_LEVEL) or np.any(levels > 1 + MAX_LEVEL):
            raise InputError(
                f"morph levels must lie within {-MAX_LEVEL:g} and {1 + MAX_LEVEL:g} (0 and 1 are the two images);"
                f" got {levels[np.argmax(np.abs(levels - 0.5))]:g}, where the model draws nothing meaningful"
            )
        # The continuum's own path (in float64), so the same level gives the same code.
        return latent_path(np.stack([self.latent_a, self.latent_b]).astype(np.float64), levels).astype(np.float32)

    def images(self, levels):
        """(N,) morph levels -> (N, H, W, C) float32 images in [0, 1] (file orientation)."""
        return self.model.decode(self.latents(levels))

    def array(self, level):
        """One ImageStim-ready array (rows flipped; see :func:`to_imagestim`) at morph level ``level``."""
        if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)):
            raise InputError(f"morph level must be a number; got {level!r}")
        if not math.isfinite(float(level)):
            raise InputError(f"morph level must be finite; got {level!r}")
        return to_imagestim(self.images([float(level)])[0])

    def array_from_latent(self, latent):
        """One ImageStim-ready array decoded from a latent code of shape (latent_dim,)."""
        latent = np.asarray(latent, dtype=np.float32)
        if latent.shape != (self.model.latent_dim,):
            raise InputError(f"a latent code must have shape ({self.model.latent_dim},); got {latent.shape}")
        return to_imagestim(self.model.decode(latent[None])[0])
