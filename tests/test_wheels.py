"""Wheels (gaia_stim/stimuli/wheels.py): a circle of codes around a centre, in the plane of two sources.

The squaring stand-in (conftest.py) makes equal angles unequal steps of the image, so equal
spacing has work to do; radii and distances are measured here from the codes and images.
"""

import numpy as np
import pytest

from conftest import SquaringModel, cv, flat, noise, rms
from gaia_stim.core.errors import InputError
from gaia_stim.stimuli import wheel


@pytest.fixture
def model():
    return SquaringModel()


def test_wheel_is_a_circle_of_the_given_radius(model):
    result = wheel(model, flat(0.5), noise(1), noise(2), n_images=8, radius=0.3)
    centre = model.encode(flat(0.5)[None])[0]
    np.testing.assert_allclose(np.linalg.norm(result["latents"] - centre, axis=1), 0.3, rtol=1e-4)
    np.testing.assert_allclose(result["angles_deg"], np.arange(8) * 45.0)
    towards_a = model.encode(noise(1)[None])[0] - centre
    first = result["latents"][0] - centre
    assert first @ towards_a / (np.linalg.norm(first) * np.linalg.norm(towards_a)) > 0.9999


def test_the_default_wheel_radius_is_half_the_mean_distance_to_a_and_b(model):
    centre, a, b = flat(0.4), noise(1), noise(2)
    codes = model.encode(np.stack([centre, a, b])).astype(np.float64)
    expected = (np.linalg.norm(codes[1] - codes[0]) + np.linalg.norm(codes[2] - codes[0])) / 2 / 2
    result = wheel(model, centre, a, b, n_images=6)
    assert result["radius"] == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(np.linalg.norm(result["latents"] - codes[0], axis=1), expected, rtol=1e-4)


def test_equal_wheel_has_equal_neighbour_distances(model):
    result = wheel(model, flat(0.4), noise(1), noise(2), n_images=12, spacing="equal")
    images = result["images"]
    steps = rms(images, np.roll(images, -1, axis=0))
    assert cv(steps) <= 0.05
    linear = wheel(model, flat(0.4), noise(1), noise(2), n_images=12)
    assert cv(rms(linear["images"], np.roll(linear["images"], -1, axis=0))) > 2 * cv(steps)


def test_each_wheel_row_records_the_distance_to_the_image_before_it(model):
    # a wide wheel around a dark centre: images clipped at black on one side, so the steps are unequal
    result = wheel(model, flat(0.05), noise(1), noise(2), n_images=7, radius=3.0)
    images = result["images"]
    before = rms(images, np.roll(images, 1, axis=0))  # image i against image i - 1 (the last, for the first)
    assert np.ptp(before) > 0.3 * before.mean()  # so a column shifted by one image would show
    np.testing.assert_allclose([row["distance_pixel"] for row in result["rows"]], before, rtol=1e-5)


def test_wheel_radius_for_a_step_distance(model):
    result = wheel(model, flat(0.4), noise(1), noise(2), n_images=10, step_distance=0.02)
    images = result["images"]
    assert np.mean(rms(images, np.roll(images, -1, axis=0))) == pytest.approx(0.02, rel=0.01)
    further = wheel(model, flat(0.4), noise(1), noise(2), n_images=10, step_distance=0.04)
    assert further["radius"] > 1.5 * result["radius"]
    with pytest.raises(InputError, match="not both"):
        wheel(model, flat(0.4), noise(1), noise(2), n_images=10, step_distance=0.02, radius=1.0)
    with pytest.raises(InputError, match="ask for less"):
        wheel(model, flat(0.4), noise(1), noise(2), n_images=10, step_distance=5.0)


def test_wheel_needs_a_plane(model):
    with pytest.raises(InputError, match="span a plane"):
        wheel(model, flat(0.4), flat(0.6), flat(0.8), n_images=6)
