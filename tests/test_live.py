"""Live generation: ImageStim-ready arrays from the model, the same images as a continuum."""

import pathlib

import numpy as np
import pytest

import gaia_stim
from gaia_stim.core.errors import InputError
from gaia_stim.stimuli.live import LiveMorph, to_imagestim
from gaia_stim.stimuli import continuum

FACES = pathlib.Path(__file__).resolve().parents[1] / "examples" / "faces"
FACE_A = str(FACES / "face_00005.png")
FACE_B = str(FACES / "face_00006.png")


@pytest.fixture(scope="module")
def model():
    return gaia_stim.load_model("default")


def test_to_imagestim_flips_rows_and_maps_ranges():
    image = np.zeros((4, 3, 3), dtype=np.float32)
    image[0] = 1.0  # top row white
    colour = to_imagestim(image)
    assert colour.shape == (4, 3, 3)
    assert np.all(colour[-1] == 1.0) and np.all(colour[:-1] == 0.0)  # [0, 1], top row last
    grey = to_imagestim(image[..., :1])
    assert grey.shape == (4, 3)
    assert np.all(grey[-1] == 1.0) and np.all(grey[:-1] == -1.0)  # [-1, 1], top row last
    assert to_imagestim(np.full((2, 2, 1), 1.7))[0, 0] == 1.0  # out-of-range values are clipped
    with pytest.raises(InputError, match="shape"):
        to_imagestim(np.zeros((4, 4, 2)))


def test_arrays_at_continuum_levels_are_the_continuum_images(model):
    result = continuum(model, FACE_A, FACE_B, n_steps=5)
    morph = LiveMorph(model, FACE_A, FACE_B)
    for level, image in zip(result["morph_levels"], result["images"]):
        live = morph.array(float(level))
        np.testing.assert_allclose(live, to_imagestim(image), atol=1e-5)
    # Between the steps it is a new image, neither neighbour.
    middle = morph.images([0.125])[0]
    assert np.abs(middle - result["images"][0]).mean() > 1e-3 and np.abs(middle - result["images"][1]).mean() > 1e-3


def test_array_from_latent_decodes_that_code(model):
    morph = LiveMorph(model, FACE_A, FACE_B)
    np.testing.assert_allclose(morph.array_from_latent(morph.latent_b), morph.array(1.0), atol=1e-5)
    with pytest.raises(InputError, match="shape"):
        morph.array_from_latent(np.zeros(3))


@pytest.mark.parametrize("level", [float("nan"), float("inf"), "0.5", None, True])
def test_bad_levels_raise_one_clear_error(model, level):
    morph = LiveMorph(model, FACE_A, FACE_B)
    with pytest.raises(InputError, match="morph level"):
        morph.array(level)


def test_levels_far_past_the_endpoints_are_refused():
    from gaia_stim.core.errors import InputError
    from gaia_stim.stimuli.live import LiveMorph

    morph = LiveMorph(gaia_stim.load_model("default"), FACE_A, FACE_B)
    for level in (1e12, -1e12, 101.5):
        with pytest.raises(InputError, match="within -100 and 101"):
            morph.array(level)
    assert morph.array(1.5).shape[:2] == (64, 64)
