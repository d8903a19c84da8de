"""Shared fixtures: small generated image sets (nothing is downloaded)."""

import numpy as np
import pytest
from PIL import Image


def blob_images(n, size=32, seed=0):
    """Coloured discs on a grey ground: a tiny data set with real structure to learn."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for index in range(n):
        cx, cy = rng.uniform(0.3, 0.7, 2) * size
        radius = rng.uniform(0.15, 0.3) * size
        colour = rng.uniform(0, 1, 3)
        coverage = np.clip(radius - np.hypot(xx - cx, yy - cy) + 0.5, 0, 1)[..., None]
        pixels = 0.8 * (1 - coverage) + colour * coverage
        images[index] = np.round(pixels * 255).astype(np.uint8)
    return images


@pytest.fixture(scope="session")
def blobs():
    return blob_images(32, size=32, seed=0)


@pytest.fixture
def blob_folder(tmp_path, blobs):
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    for index, image in enumerate(blobs):
        where = folder / "nested" if index % 2 else folder
        Image.fromarray(image).save(where / f"blob_{index:02d}.png")
    return folder
