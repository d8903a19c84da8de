"""Reading training images: formats, channels, crop and resize, clear errors."""

import numpy as np
import pytest
from PIL import Image

from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.images import find_images, prepare_image
from gaia_stim.model.data import load_image_folder


def test_folder_is_searched_recursively_for_all_formats(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    pixels = np.full((20, 20, 3), 128, np.uint8)
    for name, fmt in [("one.png", "PNG"), ("a/two.JPG", "JPEG"), ("a/b/three.bmp", "BMP"), ("a/four.tiff", "TIFF")]:
        Image.fromarray(pixels).save(tmp_path / name, format=fmt)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    found = [p.replace(str(tmp_path) + "/", "") for p in find_images(tmp_path)]
    assert found == ["a/b/three.bmp", "a/four.tiff", "a/two.JPG", "one.png"]
    images, paths = load_image_folder(tmp_path, 16, 3)
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.uint8
    assert np.all(np.abs(images.astype(int) - 128) <= 2)


def test_centre_crop_keeps_the_middle_and_resizes():
    array = np.zeros((40, 80), np.uint8)
    array[:, 20:60] = 255  # the centred square is all white
    prepared = prepare_image(array, 16, 1)
    assert prepared.pixels.shape == (16, 16, 1)
    assert prepared.pixels.min() > 0.99
    assert "centre-cropped 80x40 to 40x40" in prepared.changes
    assert "resized 40x40 to 16x16" in prepared.changes


def test_downsizing_is_antialiased():
    stripes = np.zeros((64, 64), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: aliasing would give black or white, not grey
    pixels = prepare_image(stripes, 16, 1).pixels
    assert np.all(np.abs(pixels - 0.5) < 0.05)


def test_channels_are_converted_explicitly():
    grey = np.full((8, 8), 200, np.uint8)
    colour = prepare_image(grey, 8, 3)
    assert colour.pixels.shape == (8, 8, 3) and "grey repeated to RGB" in colour.changes
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    luminance = prepare_image(red, 8, 1)
    assert luminance.pixels[0, 0, 0] == pytest.approx(0.299, abs=1e-6)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:, 4:, 3] = 255  # left half transparent black -> white background, right half opaque black
    composited = prepare_image(rgba, 8, 3)
    assert np.all(composited.pixels[:, :4] == 1.0) and np.all(composited.pixels[:, 4:] == 0.0)
    assert "alpha composited onto white" in composited.changes


def test_unreadable_file_is_named(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(DataError, match="broken.png"):
        load_image_folder(tmp_path, 8, 1)


def test_empty_folder_and_missing_folder_are_clear_errors(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images in"):
        load_image_folder(tmp_path, 8, 1)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing", 8, 1)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.full((4, 4, 3), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.zeros((4, 4, 5), np.uint8), "shape"),
        (np.zeros((4, 4), np.int64), "dtype"),
    ],
)
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(InputError, match=message):
        prepare_image(array, 4, 3)
