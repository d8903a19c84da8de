"""The synthetic face family: parameters, rendering, smoothness, files, the ``faces`` command."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from gaia_stim.cli.faces import faces as faces_command
from gaia_stim.datasets import face_parameters, face_render
from gaia_stim.datasets import (
    AVERAGE_FACE,
    PARAMETER_DESCRIPTIONS,
    PARAMETERS,
    make_faces,
    render,
    sample_parameters,
    write_faces,
)
from gaia_stim.core.errors import InputError, OutputExistsError

N_PARAMETERS = len(PARAMETERS)


def pixel_centres(size):
    """Image coordinates (-1 top/left to 1 bottom/right) of the pixel centres."""
    return (2 * np.arange(size) + 1 - size) / size


def sweep(index, values, base=AVERAGE_FACE):
    params = np.tile(base, (len(values), 1))
    params[:, index] = values
    return params


# -- parameters -----------------------------------------------------------------------------


def test_parameters_are_named_described_and_average_is_half():
    assert isinstance(PARAMETERS, tuple)
    assert 10 <= N_PARAMETERS == len(set(PARAMETERS))
    assert tuple(PARAMETER_DESCRIPTIONS) == PARAMETERS
    assert all(len(text) > 15 for text in PARAMETER_DESCRIPTIONS.values())
    assert AVERAGE_FACE.shape == (N_PARAMETERS,)
    assert np.all(AVERAGE_FACE == 0.5)
    # every geometric description quotes the scale the renderer uses
    for name, (low, high, _, _) in face_parameters._SCALES.items():
        assert f"0 -> {low:g}" in PARAMETER_DESCRIPTIONS[name]
        assert f"1 -> {high:g}" in PARAMETER_DESCRIPTIONS[name]


def test_sample_parameters_shape_range_and_seeding():
    params = sample_parameters(500, np.random.default_rng(3))
    assert params.shape == (500, N_PARAMETERS)
    assert params.dtype == np.float64
    assert params.min() >= 0 and params.max() <= 1
    assert abs(params.mean() - 0.5) < 0.02  # Beta(2, 2)
    np.testing.assert_array_equal(params, sample_parameters(500, 3))
    assert not np.array_equal(params, sample_parameters(500, 4))


def test_sampling_leaves_global_random_state_alone():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    sample_parameters(10, 1)
    make_faces(2, size=16, seed=1)
    assert np.random.random() == expected


# -- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 33, 64, 512])
def test_render_shape_dtype_and_range(size):
    images = render(AVERAGE_FACE, size=size)
    assert images.shape == (1, size, size, 3)
    assert images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1


def test_render_batches_equal_single_faces():
    params = sample_parameters(5, 0)
    batch = render(params, size=32)
    assert batch.shape == (5, 32, 32, 3)
    for index in range(5):
        np.testing.assert_allclose(batch[index], render(params[index], size=32)[0], atol=1e-6)


def test_random_faces_differ_and_stay_off_the_edges():
    images = render(sample_parameters(24, 0), size=64)
    spread = images.std(axis=0).mean()
    assert spread > 0.05, "random faces should vary enough to train on"
    x = pixel_centres(64)
    # nothing reaches the outer columns or above the hair: plain background there
    outer = np.abs(x) > 0.8
    assert np.all(images[:, :, outer] == np.float32(face_render.BACKGROUND))
    top = x < -0.9
    assert np.all(images[:, top] == np.float32(face_render.BACKGROUND))


@pytest.mark.parametrize("size", [37, 200])
def test_feature_windows_never_clip_a_feature(monkeypatch, size):
    # the renderer paints each feature inside a fixed window; extreme faces must fit in it
    corners = np.random.default_rng(0).integers(0, 2, size=(96, N_PARAMETERS)).astype(float)
    params = np.vstack([corners, sample_parameters(16, 1)])
    windowed = render(params, size=size)
    window = face_render._Canvas.window
    monkeypatch.setattr(face_render._Canvas, "window", lambda self, *_: window(self, -1, 1, -1, 1))
    np.testing.assert_allclose(windowed, render(params, size=size), atol=1e-5)


@pytest.mark.parametrize("size", [64, 63])
def test_average_face_is_left_right_symmetric(size):
    image = render(AVERAGE_FACE, size=size)[0]
    assert np.abs(image - image[:, ::-1]).max() < 1e-4


# (top, bottom) of the band, in image coordinates from -1 (top) to 1, where each parameter
# should do most of its work; None: the parameter acts on the whole face.
EXPECTED_BANDS = {
    "head_width": None,
    "jaw_width": (0.1, 1.0),
    "hairline_height": (-1.0, 0.0),
    "hair_length": (0.0, 1.0),
    "hair_darkness": None,
    "skin_tone": None,
    "eye_size": (-0.3, 0.15),
    "eye_spacing": (-0.3, 0.15),
    "eye_height": (-0.45, 0.15),
    "iris_colour": (-0.3, 0.15),
    "brow_height": (-0.5, 0.0),
    "brow_thickness": (-0.5, 0.0),
    "nose_length": (0.0, 0.55),
    "nose_width": (0.0, 0.55),
    "mouth_width": (0.2, 0.75),
    "mouth_curvature": (0.2, 0.75),
}


def test_every_parameter_has_an_expected_band():
    assert set(EXPECTED_BANDS) == set(PARAMETERS)


@pytest.mark.parametrize("name", PARAMETERS)
def test_each_parameter_changes_the_face_where_expected(name):
    images = render(sweep(PARAMETERS.index(name), [0.0, 1.0]), size=64)
    change = np.abs(images[1] - images[0]).mean(axis=(1, 2))  # per row
    assert change.max() > 0.005, f"{name} barely changes the image"
    band = EXPECTED_BANDS[name]
    if band is None:
        return
    y = pixel_centres(64)
    inside = (y >= band[0]) & (y <= band[1])
    assert change[inside].mean() > 3 * change[~inside].mean(), (
        f"{name} changes rows outside {band} as much as inside"
    )
    if name.startswith("mouth"):
        assert change[32:].mean() > 10 * change[:32].mean()


def _steps(params, size=64):
    """Largest per-pixel change of each 0.01 step along a sweep, and of the 0.25 -> 0.75 step."""
    images = render(params, size=size)
    small = np.abs(np.diff(images, axis=0)).max(axis=(1, 2, 3))
    large = np.abs(images[75] - images[25]).max()
    return small.max(), large


@pytest.mark.parametrize("name", PARAMETERS)
def test_small_parameter_steps_give_small_image_changes(name):
    index = PARAMETERS.index(name)
    values = np.linspace(0.0, 1.0, 101)
    for base in [AVERAGE_FACE, *sample_parameters(2, 7)]:
        small, large = _steps(sweep(index, values, base))
        assert large > 0.03
        # an edge moves far less than a pixel per 0.01 step; hard edges would flip whole pixels
        # (ratio 1); the fastest parameter, hair_length, moves its edge about 0.35 px per step
        assert small < 0.5 * large, f"{name}: a 0.01 step changes a pixel by {small:.3f}"


def test_the_smoothness_check_catches_hard_edges(monkeypatch):
    coverage, ellipse = face_render._coverage, face_render._ellipse
    monkeypatch.setattr(face_render, "_coverage", lambda *a: (coverage(*a) > 0.5).astype(np.float32))
    monkeypatch.setattr(face_render, "_ellipse", lambda *a: (ellipse(*a) > 0.5).astype(np.float32))
    for name in ("eye_spacing", "mouth_width", "head_width"):
        small, large = _steps(sweep(PARAMETERS.index(name), np.linspace(0.0, 1.0, 101)))
        assert small > 0.5 * large


@pytest.mark.parametrize(
    "params, size, message",
    [
        (np.full(N_PARAMETERS + 1, 0.5), 64, "shape"),
        (np.full((2, N_PARAMETERS, 1), 0.5), 64, "shape"),
        (np.full((2, 3), 0.5), 64, "shape"),
        (0.5, 64, "shape"),
        ([["a"] * N_PARAMETERS], 64, "numbers"),
        (sweep(PARAMETERS.index("eye_size"), [1.2]), 64, "eye_size"),
        (sweep(PARAMETERS.index("skin_tone"), [-0.01]), 64, "skin_tone"),
        (sweep(PARAMETERS.index("mouth_width"), [np.nan]), 64, "mouth_width"),
        (sweep(PARAMETERS.index("head_width"), [np.inf]), 64, "head_width"),
        (AVERAGE_FACE, 15, "size"),
        (AVERAGE_FACE, 513, "size"),
        (AVERAGE_FACE, 64.0, "size"),
        (AVERAGE_FACE, "64", "size"),
        (AVERAGE_FACE, True, "size"),
    ],
)
def test_render_rejects_bad_input(params, size, message):
    with pytest.raises(InputError, match=message):
        render(params, size=size)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_parameters(0, 0),
        lambda: sample_parameters(2.5, 0),
        lambda: sample_parameters(3, "seed"),
        lambda: sample_parameters(3, -1),
        lambda: make_faces(0),
        lambda: make_faces(2, size=8),
    ],
)
def test_sampling_rejects_bad_input(call):
    with pytest.raises(InputError):
        call()


# -- data sets and files --------------------------------------------------------------------


def test_make_faces_returns_images_and_their_parameters():
    result = make_faces(6, size=32, seed=5)
    assert {"images", "parameters", "seed", "size", "parameter_names"} <= set(result)
    images, table = result["images"], result["parameters"]
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["face_id", *PARAMETERS]
    assert list(table["face_id"]) == [f"face_{index:05d}" for index in range(6)]
    assert result["seed"] == 5 and result["size"] == 32
    assert result["parameter_names"] == list(PARAMETERS)
    params = table[list(PARAMETERS)].to_numpy()
    np.testing.assert_array_equal(params, sample_parameters(6, 5))
    np.testing.assert_array_equal(images, np.round(render(params, 32) * 255).astype(np.uint8))
    again = make_faces(6, size=32, seed=5)
    np.testing.assert_array_equal(images, again["images"])
    assert not np.array_equal(images, make_faces(6, size=32, seed=6)["images"])


def test_write_faces_writes_pngs_and_a_matching_table(tmp_path):
    out = write_faces(tmp_path / "set", 5, size=32, seed=2)
    assert out == str(tmp_path / "set")
    names = sorted(os.listdir(out))
    assert names == ["attributes.csv"] + [f"face_{index:05d}.png" for index in range(5)] + ["manifest.json"]
    table = pd.read_csv(os.path.join(out, "attributes.csv"))
    assert list(table.columns) == ["file", "face_id", *PARAMETERS]
    assert list(table["file"]) == [f"face_{index:05d}.png" for index in range(5)]
    expected = make_faces(5, size=32, seed=2)
    np.testing.assert_allclose(table[list(PARAMETERS)], expected["parameters"][list(PARAMETERS)])
    for row in table.itertuples():
        pixels = np.asarray(Image.open(os.path.join(out, row.file)))
        np.testing.assert_array_equal(pixels, expected["images"][row.Index])
    assert os.listdir(tmp_path) == ["set"]  # no temporary folders left behind


def test_write_faces_is_byte_identical_for_the_same_seed(tmp_path):
    first = write_faces(tmp_path / "a", 3, size=24, seed=9)
    second = write_faces(tmp_path / "b", 3, size=24, seed=9)
    other = write_faces(tmp_path / "c", 3, size=24, seed=10)
    def read(folder, name):
        with open(os.path.join(folder, name), "rb") as file:
            return file.read()

    for name in os.listdir(first):
        assert read(first, name) == read(second, name), name
    assert read(first, "face_00000.png") != read(other, "face_00000.png")


def test_write_faces_refuses_a_non_empty_folder_unless_forced(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    write_faces(out, 2, size=16)  # an empty folder is fine
    with pytest.raises(OutputExistsError, match="force"):
        write_faces(out, 3, size=16)
    assert len(os.listdir(out)) == 4  # untouched
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="did not write .notes.txt"):
        write_faces(out, 3, size=16, force=True)  # the user's file is never deleted
    assert len(os.listdir(out)) == 5
    os.remove(out / "notes.txt")
    write_faces(out, 3, size=16, force=True)
    assert sorted(os.listdir(out)) == ["attributes.csv"] + [f"face_0000{i}.png" for i in range(3)] + ["manifest.json"]
    assert sorted(os.listdir(tmp_path)) == ["set"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError):
        write_faces(tmp_path / "file", 1, size=16)


# -- command line ---------------------------------------------------------------------------


def test_faces_command_writes_a_set(tmp_path):
    runner = CliRunner()
    out = tmp_path / "faces"
    arguments = ["--n", "4", "--size", "32", "--out", str(out), "--seed", "1"]
    result = runner.invoke(faces_command, arguments)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and "4 faces" in result.output
    assert len(os.listdir(out)) == 6

    result = runner.invoke(faces_command, ["--n", "2", "--out", str(out)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "--force" in result.output
    assert "Traceback" not in result.output

    arguments = ["--n", "2", "--size", "16", "--out", str(out), "--force"]
    result = runner.invoke(faces_command, arguments)
    assert result.exit_code == 0, result.output
    assert len(os.listdir(out)) == 4


@pytest.mark.parametrize(
    "arguments",
    [["--n", "0", "--out", "x"], ["--n", "2", "--size", "8", "--out", "x"], ["--n", "2"]],
)
def test_faces_command_rejects_bad_options(tmp_path, arguments):
    result = CliRunner().invoke(faces_command, arguments)
    assert result.exit_code == 2


def test_faces_command_help_and_light_import():
    result = CliRunner().invoke(faces_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--n", "--size", "--out", "--seed", "--force"):
        assert option in result.output
    code = "import sys, gaia_stim.cli.faces, gaia_stim.datasets; print('torch' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_force_never_replaces_a_folder_that_is_not_a_face_set(tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("months of work")
    with pytest.raises(OutputExistsError, match="not a gaia-stim face set"):
        write_faces(precious, 2, size=16, force=True)
    assert os.listdir(precious) == ["chapter1.tex"]
    assert sorted(os.listdir(tmp_path)) == ["thesis"]  # no staging folder left behind
