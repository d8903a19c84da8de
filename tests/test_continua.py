"""Continua (gaia_stim/stimuli/continua.py): latent interpolation, input preparation, equal spacing,
extrapolation, paths through several sources, and the ``gaia-stim continuum`` command.

Two stand-ins from conftest.py: ``LinearModel``, whose images are the pixel cross-fade, for the
plumbing; ``SquaringModel``, whose image path is curved, for spacing and extrapolation.
"""

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import gaia_stim
from conftest import LinearModel, SquaringModel, cv, flat, noise, read_set, rms
from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.io.sets import write_set
from gaia_stim.stimuli import continuum


def gradient(size=8, channels=3, flip=False):
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    image = np.broadcast_to(ramp[None, :, None], (size, size, channels)).copy()
    return image[:, ::-1].copy() if flip else image


def write_png(path, array):
    Image.fromarray(array).save(path)
    return str(path)


# ------------------------------------------------------------------------------------------
# the library function


def test_levels_shapes_and_endpoints():
    model = LinearModel()
    a, b = gradient(), gradient(flip=True)
    result = continuum(model, a, b, n_steps=11)
    assert result["images"].shape == (11, 8, 8, 3)
    assert result["images"].dtype == np.float32
    assert result["latents"].shape == (11, model.latent_dim)
    np.testing.assert_allclose(result["morph_levels"], np.linspace(0, 1, 11), atol=1e-15)
    assert result["morph_levels"][3] == 0.3  # correctly rounded, not 0.30000000000000004
    assert result["n_steps"] == 11 and result["method"] == "linear"
    assert result["source_a"] == "array" and result["source_b"] == "array"
    assert result["input_changes"] == [[], []]
    np.testing.assert_array_equal(result["endpoints"], np.stack([a, b]))
    # The endpoints are the model's reconstructions of the inputs, exactly.
    np.testing.assert_array_equal(result["images"][0], model.decode(model.encode(a[None]))[0])
    np.testing.assert_array_equal(result["images"][-1], model.decode(model.encode(b[None]))[0])
    np.testing.assert_array_equal(result["latents"][0], model.encode(a[None])[0])
    np.testing.assert_array_equal(result["latents"][-1], model.encode(b[None])[0])


def test_interpolation_is_linear_in_latent_space():
    model = LinearModel()
    a, b = gradient(), gradient(flip=True)
    result = continuum(model, a, b, n_steps=5)
    z_a, z_b = model.encode(np.stack([a, b]))
    for level, z in zip(result["morph_levels"], result["latents"]):
        np.testing.assert_allclose(z, (1 - level) * z_a + level * z_b, atol=1e-6)
    # With an affine model the images are the pixel blend too.
    for level, image in zip(result["morph_levels"], result["images"]):
        np.testing.assert_allclose(image, (1 - level) * a + level * b, atol=1e-6)
    # Equal steps: consecutive latent differences are all the same.
    differences = np.diff(result["latents"], axis=0)
    np.testing.assert_allclose(differences, np.broadcast_to(differences[0], differences.shape), atol=1e-6)


def test_both_endpoints_encoded_once_and_deterministic():
    model = LinearModel()
    first = continuum(model, gradient(), gradient(flip=True), n_steps=4)
    assert len(model.encode_calls) == 1 and model.encode_calls[0].shape[0] == 2
    second = continuum(model, gradient(), gradient(flip=True), n_steps=4)
    np.testing.assert_array_equal(first["images"], second["images"])


@pytest.mark.parametrize("n_steps", [0, 1, -3, 2.5, "11", True, None])
def test_bad_n_steps(n_steps):
    with pytest.raises(InputError) as raised:
        continuum(LinearModel(), gradient(), gradient(flip=True), n_steps=n_steps)
    message = str(raised.value)
    assert "n_steps" in message and "2 or more" in message
    assert repr(n_steps) in message or str(n_steps) in message


@pytest.mark.parametrize("n_steps", [2, 3, np.int64(7), 101])
def test_good_n_steps(n_steps):
    result = continuum(LinearModel(image_size=4), gradient(4), gradient(4, flip=True), n_steps=n_steps)
    assert len(result["images"]) == int(n_steps)
    assert result["morph_levels"][0] == 0.0 and result["morph_levels"][-1] == 1.0


def test_unknown_method():
    with pytest.raises(InputError, match="spacing"):
        continuum(LinearModel(), gradient(), gradient(flip=True), spacing="equal-ssim")


def test_files_are_resized_converted_and_reported(tmp_path):
    model = LinearModel(image_size=8, channels=1)
    colour = (np.arange(16 * 16 * 3).reshape(16, 16, 3) % 256).astype(np.uint8)
    path_a = write_png(tmp_path / "a.png", colour)
    grey = np.full((12, 20), 128, dtype=np.uint8)  # not square: cropped, then enlarged
    path_b = write_png(tmp_path / "b.png", grey)
    result = continuum(model, path_a, path_b, n_steps=3)
    assert result["images"].shape == (3, 8, 8, 1)
    assert result["endpoints"].shape == (2, 8, 8, 1)
    assert result["source_a"] == path_a and result["source_b"] == path_b
    changes_a, changes_b = result["input_changes"]
    assert "RGB converted to luminance" in changes_a
    assert "resized 16x16 to 8x8" in changes_a
    assert "centre-cropped 20x12 to 12x12" in changes_b
    assert "resized 12x12 to 8x8" in changes_b
    import hashlib

    assert result["input_sha256"][0] == hashlib.sha256(open(path_a, "rb").read()).hexdigest()


def test_grey_input_to_colour_model_is_reported():
    grey = np.full((8, 8), 0.5, dtype=np.float32)
    result = continuum(LinearModel(channels=3), grey, gradient(), n_steps=2)
    assert result["input_changes"][0] == ["grey repeated to RGB"]
    assert result["input_changes"][1] == []


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(DataError, match="nope.png"):
        continuum(LinearModel(), missing, gradient(), n_steps=3)


def test_not_an_image():
    with pytest.raises(InputError):
        continuum(LinearModel(), {"not": "an image"}, gradient(), n_steps=3)
    with pytest.raises(InputError, match="shape"):
        continuum(LinearModel(), np.zeros((2, 8, 8, 3)), gradient(), n_steps=3)


# ------------------------------------------------------------------------------------------
# the command


@pytest.fixture
def fake_model(monkeypatch):
    model = LinearModel(image_size=8, channels=3, name="default")
    calls = []

    def load_model(name_or_path="default", device="cpu"):
        calls.append((name_or_path, device))
        return model

    # The command looks the loader up on the package at call time.
    monkeypatch.setattr(gaia_stim, "load_model", load_model, raising=False)
    model.calls = calls
    return model


@pytest.fixture
def in_tmp_path(tmp_path, monkeypatch):
    """Run the test inside an empty temporary folder (the command writes to the current one)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_writes_a_set_and_reports(fake_model, in_tmp_path):
    from gaia_stim.cli.continuum import continuum as command

    runner = CliRunner()
    write_png("a.png", (np.arange(16 * 16 * 3).reshape(16, 16, 3) % 256).astype(np.uint8))
    write_png("b.png", np.full((8, 8, 3), 200, dtype=np.uint8))
    result = runner.invoke(command, ["--from", "a.png", "--to", "b.png", "--steps", "5"])
    assert result.exit_code == 0, result.output
    out = "continuum_a_to_b"
    assert os.path.isfile(os.path.join(out, "stimuli.csv"))
    assert os.path.isfile(os.path.join(out, "manifest.json"))
    assert os.path.isfile(os.path.join(out, "contact_sheet.png"))
    assert len(os.listdir(os.path.join(out, "images"))) == 5
    assert fake_model.calls == [("default", "cpu")]
    assert out in result.output
    assert "5 images" in result.output
    assert "model: default" in result.output
    assert "a.png: resized 16x16 to 8x8" in result.output
    assert "b.png: used as is" in result.output

    # A second run refuses to overwrite, in one line, and --force replaces.
    again = runner.invoke(command, ["--from", "a.png", "--to", "b.png", "--steps", "3"])
    assert again.exit_code == 1
    assert "--force" in again.output and "Traceback" not in again.output
    assert len(os.listdir(os.path.join(out, "images"))) == 5
    forced = runner.invoke(command, ["--from", "a.png", "--to", "b.png", "--steps", "3", "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(os.listdir(os.path.join(out, "images"))) == 3


def test_cli_out_model_and_device(fake_model, in_tmp_path):
    from gaia_stim.cli.continuum import continuum as command

    runner = CliRunner()
    image = np.full((8, 8, 3), 10, dtype=np.uint8)
    write_png("x.png", image)
    write_png("y.png", image)
    result = runner.invoke(
        command,
        ["--from", "x.png", "--to", "y.png", "--out", "sets/my_set", "--model", "runs/r1",
         "--device", "auto"],
    )
    assert result.exit_code == 0, result.output
    assert fake_model.calls == [("runs/r1", "auto")]
    assert len(os.listdir("sets/my_set/images")) == 11
    assert [name for name in os.listdir("sets") if name.startswith(".")] == []


def test_cli_missing_input_is_one_line_without_traceback(fake_model, in_tmp_path):
    from gaia_stim.cli.continuum import continuum as command

    runner = CliRunner()
    write_png("a.png", np.zeros((8, 8, 3), dtype=np.uint8))
    result = runner.invoke(command, ["--from", "a.png", "--to", "missing.png"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "missing.png" in errors[0]
    assert fake_model.calls == []
    assert os.listdir(".") == ["a.png"]


def test_cli_unreadable_image_is_one_line_without_traceback(fake_model, in_tmp_path):
    from gaia_stim.cli.continuum import continuum as command

    runner = CliRunner()
    write_png("a.png", np.zeros((8, 8, 3), dtype=np.uint8))
    with open("broken.png", "wb") as handle:
        handle.write(b"this is not a png")
    result = runner.invoke(command, ["--from", "a.png", "--to", "broken.png"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("Error: ") and "broken.png" in result.output
    assert "Traceback" not in result.output
    assert sorted(os.listdir(".")) == ["a.png", "broken.png"]


@pytest.mark.parametrize("steps", ["1", "0", "x"])
def test_cli_bad_steps(fake_model, in_tmp_path, steps):
    from gaia_stim.cli.continuum import continuum as command

    runner = CliRunner()
    write_png("a.png", np.zeros((8, 8, 3), dtype=np.uint8))
    result = runner.invoke(command, ["--from", "a.png", "--to", "a.png", "--steps", steps])
    assert result.exit_code == 2
    assert "--steps" in result.output and "Traceback" not in result.output


def test_cli_module_does_not_import_torch():
    import subprocess
    import sys

    # Only this command module: the group's other commands are tested in their own files.
    code = (
        "import os, sys, types, gaia_stim\n"
        "package = types.ModuleType('gaia_stim.cli')\n"
        "package.__path__ = [os.path.join(os.path.dirname(gaia_stim.__file__), 'cli')]\n"
        "sys.modules['gaia_stim.cli'] = package\n"
        "import gaia_stim.cli.continuum\n"
        "print('torch' in sys.modules)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"


def test_morph_levels_far_past_the_sources_are_refused_and_beyond_one_distance_warned(tmp_path):
    import warnings

    from click.testing import CliRunner

    from gaia_stim.cli import main
    from gaia_stim.core.errors import InputError
    from gaia_stim.stimuli._common import ExtrapolationWarning

    model = LinearModel(image_size=8)
    a, b = gradient(8), gradient(8, flip=True)
    for level_range in ((-1e308, 1e308), (-1e6, 1e6), (0, 101.5), (-100.5, 0.5)):
        with pytest.raises(InputError, match="source distances past the sources"):
            continuum(model, a, b, n_steps=3, level_range=level_range)
    with pytest.warns(ExtrapolationWarning, match="extrapolates more than one source distance"):
        continuum(model, a, b, n_steps=3, level_range=(-1.5, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        continuum(model, a, b, n_steps=3, level_range=(-1.0, 2.0))  # caricatures within one distance: quiet
        continuum(model, a, b, b, n_steps=3, level_range=(0.0, 3.0))  # three sources span 0..2: 3 is within
    faces = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "faces")
    result = CliRunner().invoke(main, ["continuum", "--from", os.path.join(faces, "face_00005.png"), "--to",
                                       os.path.join(faces, "face_00006.png"), "--steps", "3", "--range", "-3", "1",
                                       "--out", str(tmp_path / "far")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Warning: --range -3 1 extrapolates")]
    assert len(lines) == 1 and "Traceback" not in result.output and ".py:" not in result.output


# ------------------------------------------------------------------------------------------
# a curved image path (the squaring stand-in): equal spacing, extrapolation, several sources


@pytest.fixture
def model():
    """The squaring stand-in (conftest.py): equal steps of its code are unequal steps of the image."""
    return SquaringModel()


def test_equal_pixel_spacing_makes_equal_steps(model):
    linear = continuum(model, flat(0.0), flat(1.0), n_steps=11)
    equal = continuum(model, flat(0.0), flat(1.0), n_steps=11, spacing="equal", metric="pixel")
    # measured here, from the images, not taken from the result
    assert cv(rms(linear["images"][:-1], linear["images"][1:])) > 0.3
    assert cv(rms(equal["images"][:-1], equal["images"][1:])) < 0.01
    # decode squares t, so equal pixel steps are at t = sqrt(i / 10)
    np.testing.assert_allclose(equal["morph_levels"], np.sqrt(np.arange(11) / 10), atol=0.01)
    assert equal["morph_levels"][0] == 0.0 and equal["morph_levels"][-1] == 1.0


def test_equal_ssim_spacing(model):
    equal = continuum(model, noise(1), noise(2), n_steps=7, spacing="equal", metric="ssim")
    from skimage.metrics import structural_similarity

    steps = [1 - structural_similarity(a, b, data_range=1.0, channel_axis=-1)
             for a, b in zip(equal["images"][:-1].astype(np.float64), equal["images"][1:].astype(np.float64))]
    assert cv(steps) < 0.02


def test_each_row_records_its_distance_and_the_manifest_the_cv(tmp_path, model):
    result = continuum(model, flat(0.0), flat(1.0), n_steps=6, metric="pixel")
    write_set(tmp_path / "set", result, model)
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    steps = rms(result["images"][:-1], result["images"][1:])
    np.testing.assert_allclose(table["distance_pixel"], np.concatenate([[0.0], steps]), rtol=1e-6)
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["summary"]["step_distance_cv"] == pytest.approx(cv(steps), rel=1e-6)


def test_range_extrapolates_along_the_line(model):
    result = continuum(model, flat(0.2), flat(0.6), n_steps=5, level_range=(-0.5, 1.5))
    np.testing.assert_allclose(result["morph_levels"], [-0.5, 0.0, 0.5, 1.0, 1.5])
    za, zb = model.encode(np.stack([flat(0.2), flat(0.6)])).astype(np.float64)
    np.testing.assert_allclose(result["latents"][0], 1.5 * za - 0.5 * zb, atol=1e-6)
    np.testing.assert_allclose(result["latents"][-1], -0.5 * za + 1.5 * zb, atol=1e-6)


def test_path_through_three_images_passes_each(model):
    images = [flat(0.1), flat(0.5), flat(0.3)]
    result = continuum(model, *images, n_steps=5)
    codes = model.encode(np.stack(images))
    np.testing.assert_allclose(result["morph_levels"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(result["latents"][[0, 2, 4]], codes)
    np.testing.assert_allclose(result["latents"][3], (codes[1] + codes[2]) / 2, atol=1e-6)


def test_equal_spacing_between_identical_images_keeps_linear_levels(model):
    result = continuum(model, flat(0.3), flat(0.3), n_steps=5, spacing="equal")
    np.testing.assert_allclose(result["morph_levels"], [0, 0.25, 0.5, 0.75, 1])


# ------------------------------------------------------------------------------------------
# the command passes every option through


def test_continuum_command_options(squaring_commands):
    result = CliRunner().invoke(main, ["continuum", "--from", "0.png", "--via", "1.png", "--to", "2.png", "--steps", "5",
                                       "--range", "-0.5", "2.5", "--spacing", "equal", "--metric", "ssim",
                                       "--greyscale", "--size", "12", "--mask", "oval", "--background", "0",
                                       "--movie", "gif", "--out", "c"])
    assert result.exit_code == 0, result.output
    table, manifest = read_set("c")
    assert table["morph_level"].iloc[0] == -0.5 and table["morph_level"].iloc[-1] == 2.5
    assert "distance_ssim" in table and {"source_c", "prepared_c"} <= set(table)
    assert manifest["parameters"]["spacing"] == "equal" and manifest["parameters"]["n_steps"] == 5
    assert manifest["adjust"]["size"] == 12 and manifest["adjust"]["mask"] == "oval"
    assert os.path.isfile("c/morph.gif") and "CV" in result.output
    pixels = np.asarray(Image.open(os.path.join("c", table["image_file"][0])))
    assert pixels.shape == (12, 12) and pixels[0, 0] == 0
    assert CliRunner().invoke(main, ["verify", "c"]).exit_code == 0
