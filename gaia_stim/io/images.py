"""Images out: 8-bit conversion, PNG files, array hashes, luminance.

Reading and preparing images is :mod:`gaia_stim.core.images` (the trainer, the API and the
stimulus layer prepare images the same way).
"""

import hashlib

import numpy as np
from PIL import Image

from gaia_stim.core.errors import InputError

__all__ = [
    "array_sha256",
    "to_uint8",
    "pil_image",
    "save_png",
    "LUMA_WEIGHTS",
    "luminance",
]

# ITU-R BT.601 luma weights, as Pillow's "L" mode and gaia_stim.core.images use for colour -> grey.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def array_sha256(array):
    """Hex sha256 of an array's dtype, shape and bytes (C order), for inputs given as arrays."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def to_uint8(images):
    """(N, H, W, C) or (N, H, W) uint8 or float in [0, 1] -> uint8 (N, H, W, C), rounded."""
    images = np.asarray(images)
    if images.ndim == 3:  # (N, H, W) grey
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"images must have shape (N, H, W, 1 or 3); got {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise InputError(f"images must be uint8 or float in [0, 1]; got dtype {images.dtype}")
    if not np.all(np.isfinite(images)):
        raise InputError("images contain NaN or infinite values")
    return np.round(np.clip(images.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def pil_image(pixels):
    """(H, W, C) uint8 -> a PIL image (L for one channel, RGB for three)."""
    if pixels.shape[-1] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))  # uint8 (H, W): mode L
    return Image.fromarray(np.ascontiguousarray(pixels))  # uint8 (H, W, 3): mode RGB


def save_png(pixels, path):
    """Write (H, W, C) uint8 as PNG; no metadata, so the same pixels always give the same bytes."""
    pil_image(pixels).save(path, format="PNG")


def luminance(images):
    """(..., H, W, C) pixel values -> (..., H, W) luminance in the same units (BT.601 for colour)."""
    images = np.asarray(images, dtype=np.float64)
    if images.shape[-1] == 1:
        return images[..., 0]
    return images @ LUMA_WEIGHTS
