"""The face-parameter estimator: accurate on faces of the family, and a realism distance that sees
what is not a face (blur, cross-fade ghosts) -- the independent measurement the benchmarks rely on."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from gaia_stim.datasets.face_estimator import estimate_parameters, realism
from gaia_stim.datasets import render, sample_parameters
from gaia_stim.core.errors import InputError

HELD_OUT = sample_parameters(12, np.random.default_rng(4242))


@pytest.mark.parametrize("size", [32, 64])
def test_recovers_the_parameters_of_held_out_faces(size):
    estimates = estimate_parameters(render(HELD_OUT, size))
    # the ridge guess alone is off by up to ~0.3 of a range; refinement brings every face close
    assert np.abs(estimates - HELD_OUT).max() < 0.05
    assert np.abs(estimates - HELD_OUT).mean() < 0.005


def test_accepts_uint8_images_and_a_single_image():
    faces = render(HELD_OUT[:2], 32)
    as_uint8 = np.round(faces * 255).astype(np.uint8)
    assert np.abs(estimate_parameters(as_uint8) - HELD_OUT[:2]).max() < 0.05
    assert estimate_parameters(faces[0]).shape == (1, 16)


def test_realism_is_near_zero_for_faces_and_clearly_above_for_ghosts_and_blur():
    faces = render(HELD_OUT, 32)
    true_morphs = render(0.5 * HELD_OUT[:6] + 0.5 * HELD_OUT[6:], 32)
    crossfades = 0.5 * faces[:6] + 0.5 * faces[6:]
    blurred = np.stack([gaussian_filter(face, (1.0, 1.0, 0.0)) for face in faces[:6]])
    on_family = np.concatenate([realism(faces)["pixel"], realism(true_morphs)["pixel"]])
    ghost, blur = realism(crossfades), realism(blurred)
    assert on_family.max() < 0.003
    assert ghost["pixel"].min() > 0.01 and blur["pixel"].min() > 0.01
    assert ghost["ssim"].min() > 0.01 and blur["ssim"].min() > 0.01


@pytest.mark.parametrize(
    "images, words",
    [
        (np.zeros((2, 32, 32)), "(N, S, S, 3)"),
        (np.zeros((2, 32, 40, 3)), "square"),
        (np.zeros((2, 16, 16, 3)), "at least 32"),
        (np.full((1, 32, 32, 3), 1.5), "[0, 1]"),
        (np.full((1, 32, 32, 3), np.nan), "finite"),
        (np.zeros((1, 32, 32, 3), dtype=np.int32), "dtype"),
    ],
)
def test_bad_images_get_one_clear_error(images, words):
    with pytest.raises(InputError, match=None) as error:
        estimate_parameters(images)
    assert words in str(error.value)
