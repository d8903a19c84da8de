"""Images in, float arrays out: reading, centre-cropping, resizing, channel handling.

Every image that reaches a network passes through :func:`prepare_image`, so training
data, ``encode`` inputs and CLI inputs are treated alike:

* the largest centred square is cropped (no distortion of aspect ratio);
* it is resized with antialiasing (Lanczos for downsizing, via Pillow) to the model size;
* grey, grey+alpha, RGB and RGBA are handled explicitly: alpha is composited onto
  white (stimulus backgrounds in this field are usually light; say so in the output),
  grey is repeated to three channels for colour models, colour is converted to
  luminance (ITU-R 601 weights, as Pillow's ``L`` mode) for one-channel models.

Arrays are ``float32`` of shape ``(H, W, C)`` in ``[0, 1]``.
"""

import logging
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from gaia_stim.errors import DataError, InputError

__all__ = [
    "IMAGE_SUFFIXES",
    "PreparedImage",
    "find_images",
    "load_image",
    "prepare_image",
    "load_image_folder",
]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class PreparedImage:
    """An image brought to a model's size and channels, and what was done to it."""

    pixels: np.ndarray  # (H, W, C) float32 in [0, 1]
    original_size: tuple  # (height, width) before cropping
    original_channels: int
    changes: list = field(default_factory=list)  # human-readable, e.g. "cropped 80x64 to 64x64"


def find_images(folder):
    """All image files under ``folder`` (recursive, sorted, hidden files skipped)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(f"data folder {folder!r} does not exist or is not a folder")
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                paths.append(os.path.join(root, name))
    return sorted(paths)


def _as_float_array(array):
    """uint8/uint16/bool/float array -> float32 in [0, 1], shape (H, W, C)."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise InputError(
            f"an image must have shape (H, W), (H, W, 1|2|3|4); got {array.shape}"
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
        if not np.all(np.isfinite(array)):
            raise InputError("a float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-6 or high > 1 + 1e-6:
            raise InputError(
                f"float images must hold values in [0, 1]; got values from {low:.3g} to {high:.3g}"
                " (divide 8-bit images by 255)"
            )
        return np.clip(array, 0.0, 1.0)
    raise InputError(f"images of dtype {array.dtype} are not supported; use uint8 or float in [0, 1]")


def prepare_image(array, image_size, channels):
    """Bring one image array to ``(image_size, image_size, channels)`` float32 in [0, 1].

    Parameters
    ----------
    array : ndarray of shape (H, W) or (H, W, C), C in 1..4
        uint8, uint16 or float in [0, 1].
    image_size : int
    channels : {1, 3}

    Returns
    -------
    PreparedImage
    """
    if channels not in (1, 3):
        raise InputError(f"channels must be 1 or 3; got {channels!r}")
    pixels = _as_float_array(array)
    height, width, original_channels = pixels.shape
    changes = []
    if original_channels in (2, 4):  # composite alpha onto white
        alpha = pixels[:, :, -1:]
        pixels = pixels[:, :, :-1] * alpha + (1.0 - alpha)
        if float(alpha.min()) < 1.0:
            changes.append("alpha composited onto white")
    colour_channels = pixels.shape[2]
    if colour_channels == 1 and channels == 3:
        pixels = np.repeat(pixels, 3, axis=2)
        changes.append("grey repeated to RGB")
    elif colour_channels == 3 and channels == 1:
        pixels = (pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]
        changes.append("RGB converted to luminance")
    if height != width:
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        pixels = pixels[top : top + side, left : left + side]
        changes.append(f"centre-cropped {width}x{height} to {side}x{side}")
    if pixels.shape[0] != image_size:
        changes.append(f"resized {pixels.shape[0]}x{pixels.shape[0]} to {image_size}x{image_size}")
        pixels = _resize(pixels, image_size)
    return PreparedImage(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        original_size=(height, width),
        original_channels=original_channels,
        changes=changes,
    )


def _resize(pixels, image_size):
    """Antialiased resize of a square float image, one channel at a time (Pillow 'F' mode)."""
    resample = Image.Resampling.LANCZOS if image_size < pixels.shape[0] else Image.Resampling.BICUBIC
    planes = [
        np.asarray(Image.fromarray(pixels[:, :, c], mode="F").resize((image_size, image_size), resample))
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(planes, axis=2), 0.0, 1.0)


def load_image(path, image_size, channels):
    """Read an image file and prepare it (see :func:`prepare_image`).

    Raises
    ------
    DataError
        The file is missing or cannot be decoded; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"image file {path!r} does not exist")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                image = image.convert("RGB")
            elif image.mode == "1":
                image = image.convert("L")
            elif image.mode in ("I;16", "I;16B", "I;16L", "I"):
                image = Image.fromarray((np.asarray(image, dtype=np.float64) / 65535.0).astype(np.float32), "F")
            elif image.mode == "LA" or image.mode == "PA":
                image = image.convert("LA")
            array = np.asarray(image)
            if array.dtype.kind == "f":
                array = np.clip(array, 0.0, 1.0)
    except UnidentifiedImageError:
        raise DataError(
            f"cannot read image {path!r}: not an image, or a format Pillow cannot decode;"
            " remove it or convert it to PNG"
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(f"cannot read image {path!r}: {error}") from None
    return prepare_image(array, image_size, channels)


def load_image_folder(folder, image_size, channels, progress=False):
    """Every image under ``folder``, prepared, as one uint8 array ``(N, H, W, C)``.

    uint8 keeps a data set four times smaller in memory than float32; batches are
    converted when they are drawn. Unreadable files raise :class:`DataError` naming
    the file (a training set with a silently dropped image is not the one you meant).
    """
    paths = find_images(folder)
    if not paths:
        raise DataError(
            f"no images in {os.fspath(folder)!r}; put PNG, JPEG, BMP or TIFF files in it"
            f" ({', '.join(IMAGE_SUFFIXES)}), sub-folders are searched too"
        )
    images = np.empty((len(paths), image_size, image_size, channels), dtype=np.uint8)
    iterator = paths
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(paths, desc="reading images", unit="img", leave=False, disable=None)  # None: off when not a terminal
    for index, path in enumerate(iterator):
        pixels = load_image(path, image_size, channels).pixels
        images[index] = np.round(pixels * 255.0).astype(np.uint8)
    logger.info("read %d images from %s", len(paths), folder)
    return images, paths
