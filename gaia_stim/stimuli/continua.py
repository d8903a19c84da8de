"""Morph continua: images between two images, through the model's latent space.

Both images are encoded, the codes are interpolated and every step is decoded, so each step is a
model image rather than a cross-fade of the two pictures.
"""

import numbers
import os

import numpy as np
from PIL import Image

from gaia_stim.errors import InputError
from gaia_stim.model.data import load_image, prepare_image
from gaia_stim.stimulus_sets import array_sha256, file_sha256

__all__ = ["METHODS", "continuum"]

# "linear": equal steps of t along the straight line between the two codes. An "equal" method
# (equal steps in an image metric) can join this tuple later without changing the signature.
METHODS = ("linear",)


def _prepare(source, model, role):
    """Load or prepare one endpoint at the model's size; returns (description, sha256, prepared)."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        prepared = load_image(path, model.image_size, model.channels)
        return path, file_sha256(path), prepared
    if isinstance(source, Image.Image):  # a palette image's array would be its indices
        return "array", array_sha256(np.asarray(source)), prepare_image(source, model.image_size, model.channels)
    try:
        array = np.asarray(source)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"image_{role} must be a path or an image array; got {type(source).__name__}"
        ) from error
    if array.dtype == object:
        raise InputError(f"image_{role} must be a path or an image array; got {type(source).__name__}")
    return "array", array_sha256(array), prepare_image(array, model.image_size, model.channels)


def _check_n_steps(n_steps):
    if isinstance(n_steps, (bool, np.bool_)) or not isinstance(n_steps, numbers.Integral):
        raise InputError(
            f"n_steps must be a whole number of images, 2 or more; got {n_steps!r}"
            " (e.g. n_steps=11 for morph levels 0, 0.1, ..., 1)"
        )
    if n_steps < 2:
        raise InputError(
            f"n_steps must be 2 or more (a continuum includes both endpoints); got {n_steps}"
            " (e.g. n_steps=11 for morph levels 0, 0.1, ..., 1)"
        )
    return int(n_steps)


def continuum(model, image_a, image_b, n_steps=11, method="linear"):
    """A morph continuum from ``image_a`` to ``image_b`` in ``n_steps`` images.

    Each image is cropped, resized and converted to the model's size and channels (see
    :func:`gaia_stim.model.data.prepare_image`; what was done is returned in ``input_changes``),
    both are encoded, and the codes are interpolated linearly,
    ``z(t) = (1 - t) z_a + t z_b`` at morph levels ``t = 0, 1/(n_steps-1), ..., 1``,
    then decoded.

    Parameters
    ----------
    model : object
        A loaded model (:func:`gaia_stim.load_model`): ``encode``, ``decode``, ``image_size``,
        ``channels``.
    image_a, image_b : str, path-like or ndarray
        Image files, or arrays of shape (H, W) or (H, W, C) (uint8, or float in [0, 1]).
    n_steps : int, default=11
        Number of images, both endpoints included; 2 or more.
    method : {"linear"}, default="linear"
        How morph levels map to latent codes.

    Returns
    -------
    dict
        ``images`` : ndarray of shape (n_steps, image_size, image_size, channels), float32 in [0, 1];
        ``morph_levels`` : ndarray of shape (n_steps,), float64, from 0 to 1;
        ``latents`` : ndarray of shape (n_steps, latent_dim), float32;
        ``endpoints`` : ndarray of shape (2, image_size, image_size, channels), the prepared inputs;
        ``source_a``, ``source_b`` : str, the path given, or ``"array"``;
        ``input_sha256`` : list of 2 str, sha256 of each file (or of each array's bytes);
        ``input_changes`` : list of 2 lists of str, the conversions made to each input;
        ``n_steps`` : int; ``method`` : str.

    Raises
    ------
    InputError
        ``n_steps`` is not an integer >= 2, ``method`` is unknown, or an array is not an image.
    DataError
        An image file is missing or unreadable.

    Examples
    --------
    >>> import gaia_stim as gs
    >>> model = gs.load_model("default")  # doctest: +SKIP
    >>> result = continuum(model, "a.png", "b.png", n_steps=11)  # doctest: +SKIP
    >>> result["images"].shape  # doctest: +SKIP
    (11, 64, 64, 1)
    """
    n_steps = _check_n_steps(n_steps)
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    source_a, sha256_a, prepared_a = _prepare(image_a, model, "a")
    source_b, sha256_b, prepared_b = _prepare(image_b, model, "b")
    endpoints = np.stack([prepared_a.pixels, prepared_b.pixels]).astype(np.float32)

    codes = np.asarray(model.encode(endpoints), dtype=np.float32)
    if codes.ndim != 2 or codes.shape[0] != 2:
        raise ValueError(f"model.encode returned shape {codes.shape} for 2 images; expected (2, latent_dim)")
    # i / (n_steps - 1) is the correctly rounded level (linspace gives 0.30000000000000004 for 0.3).
    morph_levels = np.arange(n_steps, dtype=np.float64) / (n_steps - 1)
    t = morph_levels[:, None]
    # Float64 arithmetic: t = 0 and t = 1 give the endpoint codes exactly.
    latents = ((1.0 - t) * codes[0].astype(np.float64) + t * codes[1].astype(np.float64)).astype(np.float32)
    images = np.asarray(model.decode(latents), dtype=np.float32)
    expected = (n_steps, model.image_size, model.image_size, model.channels)
    if images.shape != expected:
        raise ValueError(f"model.decode returned shape {images.shape}; expected {expected}")

    return {
        "images": images,
        "morph_levels": morph_levels,
        "latents": latents,
        "endpoints": endpoints,
        "source_a": source_a,
        "source_b": source_b,
        "input_sha256": [sha256_a, sha256_b],
        "input_changes": [list(prepared_a.changes), list(prepared_b.changes)],
        "n_steps": n_steps,
        "method": method,
    }
