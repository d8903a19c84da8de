"""Images in, float arrays out: reading, centre-cropping, resizing, channel handling.

Every image that reaches a network passes through :func:`prepare_image`, so training
data, ``encode`` inputs and CLI inputs are treated alike:

* files are checked before they are decoded: more than :data:`MAX_IMAGE_PIXELS` pixels in
  the header (a decompression bomb, or simply too large) is refused;
* the file's own conventions are applied and reported: the EXIF orientation of phone photos,
  the first frame of an animated or multi-page file, 16-bit samples (scaled by 65535);
* every Pillow mode is converted explicitly (palette, CMYK, YCbCr, LAB, HSV, premultiplied
  alpha, ...); pixel values whose white level cannot be known (32-bit integers, float files
  outside [0, 1]) are refused rather than guessed or clipped;
* the largest centred square is cropped (no distortion of aspect ratio); images more than
  :data:`MAX_ASPECT_RATIO` times longer than wide are refused rather than cut to a sliver;
* it is resized with antialiasing (Lanczos for downsizing, via Pillow) to the model size;
* grey, grey+alpha, RGB and RGBA are handled explicitly: alpha is composited onto
  white (stimulus backgrounds in this field are usually light; say so in the output),
  grey is repeated to three channels for colour models, colour is converted to
  luminance (ITU-R 601 weights, as Pillow's ``L`` mode) for one-channel models.

:func:`display_pixels` shows a source whole (padded, not cropped) beside what a model made of it.
The trainer's whole folder of training images is :func:`gaia_stim.model.data.load_image_folder`.

Arrays are ``float32`` of shape ``(H, W, C)`` in ``[0, 1]``. Whatever cannot be read
correctly raises :class:`DataError` (files, naming the file) or :class:`InputError`
(arrays), with the fix in the message.
"""

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gaia_stim.core.errors import DataError, GaiaStimError, InputError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "MAX_ASPECT_RATIO",
    "PreparedImage",
    "find_images",
    "load_image",
    "prepare_image",
    "display_pixels",
    "quote_path",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

# Largest image accepted, in pixels (width x height from the file's header, checked before
# decoding): Pillow's own default, 1024**3 // 4 // 3 (about 89.5 million, e.g. 9459 x 9459; a
# 48-megapixel phone photo passes). Our own constant, so the check holds where a program has
# switched Pillow's off (Image.MAX_IMAGE_PIXELS = None).
MAX_IMAGE_PIXELS = 89_478_485

# Longest side / shortest side above which an image is refused instead of centre-cropped: at 4
# the square keeps a quarter of the picture; a 1 x 10000 strip would keep a single pixel.
MAX_ASPECT_RATIO = 4

_EXIF_ORIENTATION = 0x0112  # the EXIF tag; 1 is upright, 2..8 are mirrored and/or rotated
_UNSIGNED_16 = ("I;16", "I;16B", "I;16L", "I;16N")  # Pillow's 16-bit grey modes and raw modes
_TO_RGB = {"CMYK": "CMYK converted to RGB (no colour management)", "YCbCr": "YCbCr converted to RGB",
           "LAB": "LAB converted to RGB", "HSV": "HSV converted to RGB", "RGBX": None}
_SAVE_FIX = "save it as an 8- or 16-bit PNG"


@dataclass
class PreparedImage:
    """An image brought to a model's size and channels, and what was done to it."""

    pixels: np.ndarray  # (H, W, C) float32 in [0, 1]
    original_size: tuple  # (height, width) before cropping
    original_channels: int
    changes: list = field(default_factory=list)  # human-readable, e.g. "cropped 80x64 to 64x64"


def quote_path(path):
    """A file name for messages: quoted, bytes that are not valid UTF-8 escaped (safe to print)."""
    return repr(os.fsdecode(path))  # repr escapes the lone surrogates that stand for such bytes


def find_images(folder):
    """All image files under ``folder`` (recursive, sorted, hidden files skipped)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(f"data folder {quote_path(folder)} does not exist or is not a folder")
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                paths.append(os.path.join(root, name))
    return sorted(paths)


def _value_range(array):
    return f"values from {array.min():.6g} to {array.max():.6g}"


def _as_float_array(array):
    """uint8/uint16/bool/float array -> float32 in [0, 1], shape (H, W, C)."""
    try:
        array = np.asarray(array)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise InputError(f"an image must be an array of shape (H, W) or (H, W, C); {error}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        hint = ""
        if array.ndim == 3 and array.shape[0] in (1, 2, 3, 4):
            hint = " (this looks channels-first, (C, H, W): use np.moveaxis(image, 0, -1))"
        raise InputError(f"an image must have shape (H, W) or (H, W, C) with C in 1..4; got {array.shape}{hint}")
    if array.size == 0:
        raise InputError(f"an image has no pixels: shape {array.shape}")
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.float32)
    if kind == "u" and array.dtype.itemsize in (1, 2):  # uint8, uint16 in either byte order
        return (array.astype(np.float32) / (255.0 if array.dtype.itemsize == 1 else 65535.0))
    if kind == "f":
        array = array.astype(np.float32)
        if not np.all(np.isfinite(array)):
            raise InputError("a float image contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-6 or high > 1 + 1e-6:
            raise InputError(
                f"float images must hold values in [0, 1]; got values from {low:.6g} to {high:.6g}"
                " (divide 8-bit images by 255, 16-bit images by 65535)"
            )
        return np.clip(array, 0.0, 1.0)
    if kind in "iu":
        raise InputError(
            f"images of dtype {array.dtype} are not supported ({_value_range(array)}): there is no"
            " standard white level for it; convert with .astype(np.uint8) for values 0..255 or"
            " .astype(np.uint16) for 0..65535, or give float values in [0, 1]"
        )
    raise InputError(
        f"images of dtype {array.dtype} are not supported; give uint8, uint16, bool or float in [0, 1]"
    )


def _pillow_pixels(image, raw_mode=""):
    """A Pillow image in any mode -> (array that :func:`_as_float_array` reads right, changes).

    ``raw_mode`` is the sample layout in the file (read before decoding): it tells 16-bit
    from 32-bit data where Pillow gives both as mode ``I``.
    """
    mode, changes = image.mode, []
    if mode in ("1", "L", "RGB") and "transparency" in image.info:  # a colour key (PNG tRNS) -> alpha
        image = image.convert("RGBA" if mode == "RGB" else "LA")
    elif mode in ("1", "L", "LA", "RGB", "RGBA"):
        pass
    elif mode in ("La", "RGBa"):  # premultiplied alpha: undo it
        image = image.convert(mode.upper())
    elif mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode in _TO_RGB:
        image = image.convert("RGB")
        if _TO_RGB[mode]:
            changes.append(_TO_RGB[mode])
    elif mode in _UNSIGNED_16 or (mode == "I" and raw_mode in _UNSIGNED_16):
        # 16-bit grey: Pillow >= 10 gives PNGs as I;16, older versions (and some TIFFs) as I.
        array = np.asarray(image)
        if array.dtype.kind == "i" and (array.min() < 0 or array.max() > 65535):
            raise InputError(f"16-bit samples out of range ({_value_range(array)}); {_SAVE_FIX}")
        return array.astype(np.uint16), changes
    elif mode == "I":
        array = np.asarray(image)
        raise InputError(
            f"32-bit or signed integer pixels ({_value_range(array)}) have no standard white level;"
            f" {_SAVE_FIX}, or as a float TIFF with values in [0, 1]"
        )
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        if not np.all(np.isfinite(array)):
            raise InputError(f"float pixels include NaN or infinite values; {_SAVE_FIX}")
        if array.min() < 0 or array.max() > 1:
            raise InputError(
                f"float pixels must lie in [0, 1], found {_value_range(array)};"
                f" {_SAVE_FIX}, or scale the values to [0, 1] (e.g. divide by 255)"
            )
        return array, changes
    else:
        raise InputError(f"Pillow image mode {mode!r} is not supported; {_SAVE_FIX}")
    if ";16" in raw_mode:  # 16-bit grey+alpha and colour: Pillow keeps the high byte of each sample
        changes.append("16-bit samples read at 8 bits (Pillow reads 16-bit colour as 8-bit)")
    return np.asarray(image), changes


def prepare_image(array, image_size, channels):
    """Bring one image to ``(image_size, image_size, channels)`` float32 in [0, 1].

    Parameters
    ----------
    array : ndarray of shape (H, W) or (H, W, C), C in 1..4, or a PIL.Image.Image
        uint8, uint16, bool, or float in [0, 1]; a Pillow image in any mode that
        :func:`load_image` reads.
    image_size : int
    channels : {1, 3}

    Returns
    -------
    PreparedImage

    Raises
    ------
    InputError
        An array that is not an image (shape, dtype, values), a fully transparent image,
        or one more than :data:`MAX_ASPECT_RATIO` times longer than wide.
    """
    if channels not in (1, 3):
        raise InputError(f"channels must be 1 or 3; got {channels!r}")
    changes = []
    if isinstance(array, Image.Image):
        array, changes = _pillow_pixels(array)
    pixels = _as_float_array(array)
    height, width, original_channels = pixels.shape
    if max(height, width) > MAX_ASPECT_RATIO * min(height, width):
        side = min(height, width)
        raise InputError(
            f"the image is {width}x{height} pixels, more than {MAX_ASPECT_RATIO} times longer than wide:"
            f" its centred square would keep only {side}x{side} of it; crop or pad it to a squarer shape"
        )
    if original_channels in (2, 4):  # composite alpha onto white
        alpha = pixels[:, :, -1:]
        if float(alpha.max()) == 0.0:
            raise InputError(
                "every pixel is fully transparent (alpha 0), so the image would be blank white;"
                " drop the alpha channel (e.g. convert to RGB) if the picture is in the colour channels"
            )
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
    side = pixels.shape[0]
    if side > image_size:
        changes.append(f"resized {side}x{side} to {image_size}x{image_size}")
        pixels = _resize(pixels, image_size)
    elif side < image_size:
        changes.append(f"enlarged {side}x{side} to {image_size}x{image_size} (smaller than the model's size)")
        pixels = _resize(pixels, image_size)
    return PreparedImage(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        original_size=(height, width),
        original_channels=original_channels,
        changes=changes,
    )


def display_pixels(source, size, background=0.85):
    """An image as given, whole (not cropped), in colour, padded to a square and resized to ``size``.

    For showing a source beside what the model made of it: alpha is composited onto white and grey
    repeated to RGB as :func:`prepare_image` does, but the image is padded with ``background`` grey
    to a square instead of centre-cropped. ``source``: a path, a PIL image or an array.
    Returns float32 (size, size, 3) in [0, 1].
    """
    if isinstance(source, (str, os.PathLike)):
        array, _ = _read_pixels(os.fspath(source), quote_path(os.fspath(source)))
    elif isinstance(source, Image.Image):
        array, _ = _pillow_pixels(source)
    else:
        array = source
    pixels = _as_float_array(array)
    if pixels.shape[2] in (2, 4):
        alpha = pixels[:, :, -1:]
        pixels = pixels[:, :, :-1] * alpha + (1.0 - alpha)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    height, width = pixels.shape[:2]
    side = max(height, width)
    square = np.full((side, side, 3), background, dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = pixels
    return _resize(square, size) if side != size else square


def _resize(pixels, image_size):
    """Antialiased resize of a square float image, one channel at a time (as Pillow 'F' images)."""
    resample = Image.Resampling.LANCZOS if image_size < pixels.shape[0] else Image.Resampling.BICUBIC
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(plane, np.float32)).resize((image_size, image_size), resample))
        for plane in np.moveaxis(pixels, 2, 0)
    ]
    return np.clip(np.stack(planes, axis=2), 0.0, 1.0)


def _raw_mode(image):
    """The sample layout in the file (the decoder's raw mode), or '' where Pillow does not say."""
    try:
        args = image.tile[0][3]
    except (IndexError, TypeError):
        return ""
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _read_pixels(path, name):
    """Open, check and decode the first frame of an image file: (array, changes)."""
    changes = []
    try:
        with warnings.catch_warnings():  # the size is checked below, with a clear message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError:
        raise DataError(
            f"image {name} is too large to read safely (its header says more than"
            f" {2 * Image.MAX_IMAGE_PIXELS:,} pixels); shrink it to at most {MAX_IMAGE_PIXELS:,} pixels"
            " (e.g. 4096x4096) or replace it"
        ) from None
    with image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise DataError(
                f"image {name} is {width}x{height} pixels ({width * height:,}), more than the"
                f" {MAX_IMAGE_PIXELS:,} read safely (a damaged file or a decompression bomb if you did"
                " not expect that size); shrink it (e.g. to 4096x4096) or replace it"
            )
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            changes.append(f"used the first of {frames} frames (animated or multi-page file)")
        raw_mode = _raw_mode(image)
        image.load()
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
        if orientation in range(2, 9):
            image = ImageOps.exif_transpose(image)
            changes.append(f"rotated as its EXIF orientation says (orientation {orientation})")
        array, converted = _pillow_pixels(image, raw_mode)
    return array, changes + converted


def load_image(path, image_size, channels):
    """Read an image file and prepare it (see :func:`prepare_image`).

    The first frame of an animated or multi-page file is used, and phone photos are turned
    upright by their EXIF orientation; both are reported in ``changes``.

    Raises
    ------
    DataError
        The file is missing, a folder, empty, larger than :data:`MAX_IMAGE_PIXELS`, damaged,
        not an image, or holds pixels that cannot be read correctly; the message names the
        file and the fix.
    """
    path = os.fspath(path)
    name = quote_path(path)
    if os.path.isdir(path):
        raise DataError(f"{name} is a folder, not an image file; give an image file inside it")
    if not os.path.exists(path):
        raise DataError(f"image file {name} does not exist")
    if not os.path.isfile(path):
        raise DataError(f"{name} is not a regular file (a pipe or a device?); give an image file")
    if os.path.getsize(path) == 0:
        raise DataError(f"image file {name} is empty (0 bytes); copy it again or remove it")
    try:
        array, changes = _read_pixels(path, name)
        prepared = prepare_image(array, image_size, channels)
    except GaiaStimError as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"image {name}: {error}") from None
    except UnidentifiedImageError:
        raise DataError(
            f"cannot read image {name}: not an image, or a format Pillow cannot decode;"
            " remove it or convert it to PNG"
        ) from None
    except PermissionError:
        raise DataError(f"cannot read image {name}: permission denied; check the file's permissions") from None
    except Exception as error:  # Pillow's decoders raise many types on damaged files (struct.error, EOFError, ...)
        raise DataError(
            f"cannot read image {name}: {type(error).__name__}: {error};"
            " the file may be damaged or incomplete: open and re-save it, or remove it"
        ) from None
    prepared.changes[:0] = changes
    return prepared
