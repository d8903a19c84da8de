"""Continua: latent interpolation, input preparation, and the ``gaia-stim continuum`` command."""

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import gaia_stim
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.stimuli import continuum


class FakeModel:
    """Deterministic stand-in for a loaded GAIA model: an invertible affine map of the pixels."""

    def __init__(self, image_size=8, channels=3, name="fake"):
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = image_size * image_size * channels
        self.name = name
        self.file_sha256 = "0123456789abcdef" * 4
        self.preset = "tiny"
        self.version = "0.1.0"
        self.encode_calls = []

    def encode(self, images):
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images / 255.0
        assert images.shape[1:] == (self.image_size, self.image_size, self.channels)
        self.encode_calls.append(images.copy())
        return (2.0 * images - 1.0).reshape(len(images), -1).astype(np.float32)

    def decode(self, z):
        z = np.asarray(z, dtype=np.float32)
        images = (z + 1.0) / 2.0
        return np.clip(images.reshape(-1, self.image_size, self.image_size, self.channels), 0, 1)


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
    model = FakeModel()
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
    model = FakeModel()
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
    model = FakeModel()
    first = continuum(model, gradient(), gradient(flip=True), n_steps=4)
    assert len(model.encode_calls) == 1 and model.encode_calls[0].shape[0] == 2
    second = continuum(model, gradient(), gradient(flip=True), n_steps=4)
    np.testing.assert_array_equal(first["images"], second["images"])


@pytest.mark.parametrize("n_steps", [0, 1, -3, 2.5, "11", True, None])
def test_bad_n_steps(n_steps):
    with pytest.raises(InputError) as raised:
        continuum(FakeModel(), gradient(), gradient(flip=True), n_steps=n_steps)
    message = str(raised.value)
    assert "n_steps" in message and "2 or more" in message
    assert repr(n_steps) in message or str(n_steps) in message


@pytest.mark.parametrize("n_steps", [2, 3, np.int64(7), 101])
def test_good_n_steps(n_steps):
    result = continuum(FakeModel(image_size=4), gradient(4), gradient(4, flip=True), n_steps=n_steps)
    assert len(result["images"]) == int(n_steps)
    assert result["morph_levels"][0] == 0.0 and result["morph_levels"][-1] == 1.0


def test_unknown_method():
    with pytest.raises(InputError, match="spacing"):
        continuum(FakeModel(), gradient(), gradient(flip=True), spacing="equal-ssim")


def test_files_are_resized_converted_and_reported(tmp_path):
    model = FakeModel(image_size=8, channels=1)
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
    result = continuum(FakeModel(channels=3), grey, gradient(), n_steps=2)
    assert result["input_changes"][0] == ["grey repeated to RGB"]
    assert result["input_changes"][1] == []


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(DataError, match="nope.png"):
        continuum(FakeModel(), missing, gradient(), n_steps=3)


def test_not_an_image():
    with pytest.raises(InputError):
        continuum(FakeModel(), {"not": "an image"}, gradient(), n_steps=3)
    with pytest.raises(InputError, match="shape"):
        continuum(FakeModel(), np.zeros((2, 8, 8, 3)), gradient(), n_steps=3)


# ------------------------------------------------------------------------------------------
# the command


@pytest.fixture
def fake_model(monkeypatch):
    model = FakeModel(image_size=8, channels=3, name="default")
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

    model = FakeModel(image_size=8)
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
