"""Training data: every image of a folder, prepared for the model, as one uint8 array.

Each image is read and prepared by :func:`gaia_stim.core.images.load_image`, the same function
that prepares ``encode`` inputs and the sources of stimulus sets, so a model sees its training
images and its users' images alike.
"""

import logging

import numpy as np

from gaia_stim.core.errors import DataError
from gaia_stim.core.images import IMAGE_SUFFIXES, find_images, load_image, quote_path
from gaia_stim.core.progress import progress_bar

__all__ = ["load_image_folder"]

logger = logging.getLogger(__name__)


def load_image_folder(folder, image_size, channels, progress=False):
    """Every image under ``folder``, prepared, as one uint8 array ``(N, H, W, C)``.

    uint8 keeps a data set four times smaller in memory than float32; batches are
    converted when they are drawn. Unreadable files raise :class:`DataError` naming
    the file (a training set with a silently dropped image is not the one you meant).
    """
    paths = find_images(folder)
    if not paths:
        raise DataError(
            f"no images in {quote_path(folder)}; put PNG, JPEG, BMP or TIFF files in it"
            f" ({', '.join(IMAGE_SUFFIXES)}), sub-folders are searched too"
        )
    images = np.empty((len(paths), image_size, image_size, channels), dtype=np.uint8)
    for index, path in enumerate(progress_bar(paths, description="reading images", unit="img", enabled=progress)):
        prepared = load_image(path, image_size, channels)
        images[index] = np.round(prepared.pixels * 255.0).astype(np.uint8)
        logger.debug("%s: %s", path, ", ".join(prepared.changes) or "used as is")
    logger.info("read %d images from %s", len(paths), folder)
    return images, paths
