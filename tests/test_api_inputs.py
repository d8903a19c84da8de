"""StimulusModel.encode/decode: one documented rule for array shapes and dtypes, one error otherwise.

The shipped default model (64 x 64 x 3, latent_dim 192) is used: loading it takes about a second.
"""

import numpy as np
import pytest
from PIL import Image

import gaia_stim
from gaia_stim.core.errors import DataError, InputError

S = 64


@pytest.fixture(scope="module")
def model():
    model = gaia_stim.load_model("default")
    assert (model.image_size, model.channels, model.latent_dim) == (S, 3, 192)
    return model


@pytest.fixture(scope="module")
def faces():
    """Two distinct 64 x 64 RGB images as uint8."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (2, S, S, 3), dtype=np.uint8)


def test_every_accepted_form_gives_the_same_pixels_and_latents(model, faces, tmp_path):
    reference, _ = model.prepare(faces)
    assert reference.shape == (2, S, S, 3)
    np.testing.assert_array_equal(reference, faces / np.float32(255))
    Image.fromarray(faces[1]).save(tmp_path / "b.png")
    palette = Image.new("P", (S, S), 1)
    palette.putpalette([0, 0, 0, 200, 100, 50])  # pixel value 1 is this colour, not grey level 1
    same = {
        "one (H, W, C) image": (faces[0], reference[:1]),
        "float in [0, 1]": (faces / 255.0, reference),
        "uint16": (faces.astype(np.uint16) * 257, reference),  # 255 * 257 = 65535
        "bool": (faces > 127, (faces > 127).astype(np.float32)),
        "bytes path": (bytes(tmp_path / "b.png"), reference[1:]),
        "one path": (tmp_path / "b.png", reference[1:]),
        "one Pillow image (palette)": (palette, np.broadcast_to(np.float32([200, 100, 50]) / 255, (1, S, S, 3))),
        "list mixing array, path and Pillow image": (
            [faces[0], str(tmp_path / "b.png"), Image.fromarray(faces[1])], reference[[0, 1, 1]]
        ),
    }
    for form, (images, expected) in same.items():
        np.testing.assert_allclose(model.prepare(images)[0], expected, atol=1e-6, err_msg=form)
    latents = model.encode(faces)
    assert latents.shape == (2, 192) and latents.dtype == np.float32
    mixed = model.encode([faces[0], str(tmp_path / "b.png"), Image.fromarray(faces[1])])
    np.testing.assert_allclose(mixed, latents[[0, 1, 1]], atol=2e-5)


def test_grey_shapes_are_one_image_or_an_explicit_stack(model, faces):
    grey = faces[..., 0]  # (2, S, S)
    one, _ = model.prepare(grey[0])  # (H, W): one grey image
    stack, _ = model.prepare(grey[..., None])  # (N, H, W, 1): N grey images
    assert one.shape == (1, S, S, 3) and stack.shape == (2, S, S, 3)
    np.testing.assert_array_equal(one[0, ..., 1], grey[0] / np.float32(255))
    np.testing.assert_array_equal(stack[:1], one)


# shape or value, fragments the message must hold
BAD_IMAGES = [
    ("(N, C, H, W)", np.zeros((2, 3, S, S), np.uint8), ["(2, 3, 64, 64)", "np.moveaxis(images, 1, -1)"]),
    ("(C, H, W)", np.zeros((3, S, S), np.uint8), ["(3, 64, 64)", "np.moveaxis(image, 0, -1)"]),
    ("(N, H, W) grey stack", np.zeros((5, S, S), np.uint8), ["(5, 64, 64)", "(N, H, W, 1)", "[..., None]"]),
    ("(H, W, 5)", np.zeros((S, S, 5), np.uint8), ["(64, 64, 5)", "C in 1..4"]),
    ("(N, H, W, 5)", np.zeros((2, S, S, 5), np.uint8), ["(2, 64, 64, 5)", "C in 1..4"]),
    ("5-D", np.zeros((1, 2, S, S, 3), np.uint8), ["(1, 2, 64, 64, 3)", "(N, H, W, C)"]),
    ("N = 0", np.zeros((0, S, S, 3), np.uint8), ["no images", "(0, 64, 64, 3)"]),
    ("empty list", [], ["no images given"]),
    ("no pixels", np.zeros((2, 0, S, 3), np.uint8), ["no pixels"]),
    ("int64 0..255", np.full((S, S, 3), 200, np.int64), ["int64", "values from 200 to 200", ".astype(np.uint8)"]),
    ("int32", np.full((S, S), 7, np.int32), ["int32", ".astype(np.uint16)"]),
    ("object", np.array([[None]], dtype=object), ["must be a path"]),
    ("complex", np.zeros((S, S, 3), np.complex64), ["complex64", "uint8, uint16, bool or float"]),
    ("strings", np.array(["a.png", "b.png"]), ["must be a path", "shape (2,)"]),
    ("NaN", np.full((S, S, 3), np.nan, np.float32), ["NaN"]),
    ("float 0..255", np.full((S, S, 3), 128.0), ["[0, 1]", "values from 128 to 128", "divide 8-bit images by 255"]),
    ("negative float", np.full((S, S, 3), -0.5), ["[0, 1]", "-0.5"]),
    ("scalar", 3.0, ["must be a path"]),
    ("None", None, ["must be a path"]),
    ("None in a list", [np.zeros((S, S), np.uint8), None], ["images[1] is NoneType"]),
    ("batch in a list", [np.zeros((2, S, S, 3), np.uint8)], ["images[0] is a batch", "(2, 64, 64, 3)"]),
    ("bad item in a list", [np.zeros((S, S), np.uint8), np.zeros((3, S, S), np.uint8)], ["images[1]", "np.moveaxis"]),
    ("ragged nested list", [[[0, 1], [0]]], ["images[0]", "inhomogeneous"]),
]


@pytest.mark.parametrize("case", BAD_IMAGES, ids=[case[0] for case in BAD_IMAGES])
def test_bad_image_arrays_are_refused_naming_the_shape_or_value_and_the_fix(model, case):
    name, images, fragments = case
    with pytest.raises(InputError) as raised:
        model.encode(images)
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))


def test_a_bad_file_in_a_list_is_a_data_error_naming_it(model, faces, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png"):
        model.encode([faces[0], tmp_path / "broken.png"])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size(model, faces, batch_size):
    with pytest.raises(InputError, match="batch_size"):
        model.encode(faces, batch_size=batch_size)
    with pytest.raises(InputError, match="batch_size"):
        model.decode(np.zeros((1, 192)), batch_size=batch_size)


def test_decode_accepts_every_real_dtype_alike(model):
    z = np.zeros((1, 192), np.float32)
    z[0, :10] = 1.0
    reference = model.decode(z)
    assert reference.shape == (1, S, S, 3) and reference.dtype == np.float32
    for form, value in {"float64": z.astype(np.float64), "int64 as a nested list": z.astype(int).tolist(),
                        "one (latent_dim,)": z[0]}.items():
        np.testing.assert_allclose(model.decode(value), reference, atol=1e-6, err_msg=form)


BAD_LATENTS = [
    ("bool", np.zeros((1, 192), bool), ["dtype bool", "float32 array that encode returns"]),
    ("complex", np.zeros((1, 192), complex), ["complex128"]),
    ("strings", np.full((1, 192), "1.5"), ["<U3"]),
    ("object", np.array([None] * 192, dtype=object), ["dtype object"]),
    ("wrong length", np.zeros((1, 191)), ["(N, 192) or (192,)", "(1, 191)", "another model"]),
    ("transposed", np.zeros((192, 3)), ["(192, 3)"]),
    ("3-D", np.zeros((1, 1, 192)), ["(1, 1, 192)"]),
    ("N = 0", np.zeros((0, 192)), ["no latents", "(0, 192)"]),
    ("NaN in row 2", np.where(np.arange(3)[:, None] == 2, np.nan, np.zeros((3, 192))), ["NaN", "rows 2"]),
    ("beyond float32", np.full((2, 192), 1e39), ["rows 0, 1", "float32"]),
    ("ragged", [[0.0] * 192, [0.0]], ["(N, 192)", "inhomogeneous"]),
]


@pytest.mark.parametrize("case", BAD_LATENTS, ids=[case[0] for case in BAD_LATENTS])
def test_bad_latents_are_refused(model, case):
    name, z, fragments = case
    with pytest.raises(InputError) as raised:
        model.decode(z)
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))


def test_latents_far_outside_the_training_range_are_refused_not_decoded_to_nan(model):
    z = np.zeros((3, 192), np.float32)
    z[1] = 1e30  # float32-finite, but the network overflows: these gave NaN images
    with pytest.raises(InputError) as raised:
        model.decode(z)
    message = str(raised.value)
    norm = np.sqrt(192) * 1e30  # = 1.39e+31, the norm the message must report for row 1
    assert f"latent rows 1 (norms {norm:.3g})" in message and "trained on" in message
    assert "use latents from encode" in message
