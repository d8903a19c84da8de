"""Small stand-ins for a model and for fitted attribute axes, shared by the stimulus-set tests.

``SquaringModel``: its code is the pixels scaled to [-1, 1] (through a square root) and its decoder
squares them, so equal steps of the code are *unequal* steps of the image, as with a real model.
``hand_made_axes``: attribute axes written out by hand (each direction and each read-out touches
one latent element, with power-of-two weights), so what they compute is exact on any machine.
"""

import hashlib

import numpy as np


class SquaringModel:
    """code = 2 sqrt(x) - 1 (x the pixels); decode(z) = ((z + 1) / 2) ** 2: a curved image path."""

    def __init__(self, image_size=16, channels=1):
        self.image_size, self.channels = image_size, channels
        self.latent_dim = image_size * image_size * channels
        self.name = "squaring"
        self.file_sha256 = hashlib.sha256(b"squaring").hexdigest()
        self.path = "/nowhere/squaring.pt"
        self.preset, self.version = "tiny", "0.1.0"

    def prepare(self, images):
        """Paths or arrays -> (pixels (N, S, S, C) float32, changes per image), as StimulusModel.prepare."""
        from gaia_stim.core.images import load_image, prepare_image

        if isinstance(images, (str, bytes)) or hasattr(images, "__fspath__"):
            images = [images]
        prepared = [
            load_image(image, self.image_size, self.channels) if isinstance(image, (str, bytes))
            or hasattr(image, "__fspath__") else prepare_image(image, self.image_size, self.channels)
            for image in images
        ]
        return np.stack([item.pixels for item in prepared]), [list(item.changes) for item in prepared]

    def encode(self, images):
        images = np.asarray(images, dtype=np.float64)
        return (2 * np.sqrt(np.clip(images, 0, 1)) - 1).reshape(len(images), -1).astype(np.float32)

    def decode(self, z):
        z = np.asarray(z, dtype=np.float64)
        return np.clip((z + 1) / 2, 0, 1).reshape(-1, self.image_size, self.image_size, self.channels) ** 2


def hand_made_axes(latent_dim):
    """Fitted-looking AttributeAxes for ``brightness`` and ``contrast``, written out by hand.

    ``brightness`` moves latent element 0 by 0.5 per unit and is read from it (times 2), so its read-out
    follows the amount one to one; ``contrast`` moves element 1 and is read from elements 1 and 0
    (0.25 of brightness leaks into it). Inner products are Euclidean.
    """
    from gaia_stim.stimuli.axes import AttributeAxes

    axes = AttributeAxes(metric="euclidean")
    axes.attribute_names_ = ["brightness", "contrast"]
    axes.directions_ = np.zeros((2, latent_dim))
    axes.directions_[0, 0], axes.directions_[1, 1] = 0.5, 0.25
    axes.intercept_ = np.zeros(latent_dim)
    axes.r2_ = np.array([0.875, 0.5])
    axes.attribute_scale_ = np.array([0.5, 0.25])
    axes.readout_coef_ = np.zeros((2, latent_dim))
    axes.readout_coef_[0, 0] = 2.0
    axes.readout_coef_[1, 1], axes.readout_coef_[1, 0] = 4.0, 0.5
    axes.readout_intercept_ = np.array([0.5, 0.25])
    axes.metric_matrix_ = np.eye(latent_dim)
    axes.readout_gain_ = np.full(2, np.nan)
    axes.categorical_columns_, axes.dropped_attributes_ = [], []
    axes.n_images_ = 40
    axes.n_features_in_ = latent_dim
    return axes
