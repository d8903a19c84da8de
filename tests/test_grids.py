"""Grids (gaia_stim/stimuli/grids.py): a plane through three codes, or bilinear between four corners.

The squaring stand-in (conftest.py) keeps these fast; every expected code is computed here from
the sources' codes.
"""

import numpy as np
import pytest

from conftest import SquaringModel, noise
from gaia_stim.stimuli import grid


@pytest.fixture
def model():
    return SquaringModel()


def test_three_image_grid_spans_the_plane(model):
    images = [noise(1), noise(2), noise(3)]
    result = grid(model, images, n_rows=3, n_columns=4)
    za, zb, zc = model.encode(np.stack(images)).astype(np.float64)
    latents = result["latents"].reshape(3, 4, -1)
    for row, v in enumerate([0, 0.5, 1]):
        for column, u in enumerate(np.arange(4) / 3):
            np.testing.assert_allclose(latents[row, column], za + u * (zb - za) + v * (zc - za), atol=1e-5)
    assert [(r["row"], r["column"]) for r in result["rows"]][:5] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]


def test_four_corner_grid_is_bilinear(model):
    images = [noise(1), noise(2), noise(3), noise(4)]
    result = grid(model, images, n_rows=2, n_columns=3)
    codes = model.encode(np.stack(images))
    latents = result["latents"].reshape(2, 3, -1)
    np.testing.assert_allclose(latents[[0, 0, 1, 1], [0, 2, 0, 2]], codes, atol=1e-6)
    np.testing.assert_allclose(latents[1, 1], (codes[2] + codes[3]) / 2, atol=1e-6)
