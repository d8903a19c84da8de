"""The stimulus layer: equal spacing, extrapolation, paths through several images, grids, wheels,
mean images, low-level control, movies, self-contained sets, verify and regenerate.

A stand-in model keeps these fast: its code is the pixels (scaled to [-1, 1]) and its decoder
squares them, so equal steps of the code are *unequal* steps of the image, as with a real model.
"""

import hashlib
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from _stand_ins import SquaringModel
from gaia_stim.cli import main
from gaia_stim.core.errors import InputError
from gaia_stim.io.sets import verify_set, write_set
from gaia_stim.stimuli.lowlevel import Adjustment, mask_alpha
from gaia_stim.metrics import distances
from gaia_stim.stimuli import continuum, grid, mean_image, wheel
from gaia_stim.stimuli.regenerate import regenerate_set


def flat(value, size=16, channels=1):
    return np.full((size, size, channels), value, dtype=np.float32)


def noise(seed, size=16, channels=1):
    return np.random.default_rng(seed).random((size, size, channels)).astype(np.float32)


def cv(values):
    values = np.asarray(values, dtype=np.float64)
    return values.std() / values.mean()


def rms(a, b):
    return np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3)))


@pytest.fixture
def model():
    return SquaringModel()


# ------------------------------------------------------------------------------------------
# continua


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


def test_mean_image_is_the_decoded_mean_code(model):
    images = [noise(1), noise(2), noise(3)]
    result = mean_image(model, images)
    np.testing.assert_allclose(result["latents"][0], model.encode(np.stack(images)).mean(axis=0), atol=1e-6)


# ------------------------------------------------------------------------------------------
# grids and wheels


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


def test_wheel_is_a_circle_of_the_given_radius(model):
    result = wheel(model, flat(0.5), noise(1), noise(2), n_images=8, radius=0.3)
    centre = model.encode(flat(0.5)[None])[0]
    np.testing.assert_allclose(np.linalg.norm(result["latents"] - centre, axis=1), 0.3, rtol=1e-4)
    np.testing.assert_allclose(result["angles_deg"], np.arange(8) * 45.0)
    towards_a = model.encode(noise(1)[None])[0] - centre
    first = result["latents"][0] - centre
    assert first @ towards_a / (np.linalg.norm(first) * np.linalg.norm(towards_a)) > 0.9999


def test_equal_wheel_has_equal_neighbour_distances(model):
    result = wheel(model, flat(0.4), noise(1), noise(2), n_images=12, spacing="equal")
    images = result["images"]
    steps = rms(images, np.roll(images, -1, axis=0))
    assert cv(steps) <= 0.05
    linear = wheel(model, flat(0.4), noise(1), noise(2), n_images=12)
    assert cv(rms(linear["images"], np.roll(linear["images"], -1, axis=0))) > 2 * cv(steps)


def test_wheel_needs_a_plane(model):
    with pytest.raises(InputError, match="span a plane"):
        wheel(model, flat(0.4), flat(0.6), flat(0.8), n_images=6)


# ------------------------------------------------------------------------------------------
# self-contained sets, verify, regenerate


def write_png(path, array):
    Image.fromarray((array[..., 0] * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def written(tmp_path, model):
    # 20 px sources for a 16 px model: the copies as given and as prepared differ
    a, b = write_png(tmp_path / "a.png", noise(1, size=20)), write_png(tmp_path / "b.png", noise(2, size=20))
    write_set(tmp_path / "set", continuum(model, a, b, n_steps=4), model)
    return tmp_path / "set"


def test_every_path_in_the_table_resolves_relative_to_it(written):
    table = pd.read_csv(written / "stimuli.csv")
    for column in ("image_file", "source_a", "source_b", "prepared_a", "prepared_b"):
        for path in table[column]:
            assert not os.path.isabs(path) and (written / path).is_file(), (column, path)
    assert (written / table["source_a"][0]).read_bytes() == (written.parent / "a.png").read_bytes()
    assert np.asarray(Image.open(written / table["prepared_a"][0])).shape == (16, 16)


def test_folders_follow_the_umask(tmp_path, model):
    old = os.umask(0o022)
    try:
        write_set(tmp_path / "set", continuum(model, flat(0.1), flat(0.9), n_steps=2), model)
    finally:
        os.umask(old)
    for folder in ("set", "set/images", "set/sources/given"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o755, folder
    assert (tmp_path / "set" / "stimuli.csv").stat().st_mode & 0o777 == 0o644


def test_verify_passes_then_names_an_altered_image(written):
    assert verify_set(written) == []
    victim = sorted((written / "images").iterdir())[1]
    pixels = np.asarray(Image.open(victim)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(victim)
    problems = verify_set(written)
    assert len(problems) == 1 and victim.name in problems[0] and "sha256" in problems[0]
    result = CliRunner().invoke(main, ["verify", str(written)])
    assert result.exit_code == 1 and victim.name in result.output


def test_verify_names_a_table_that_does_not_match_its_images(written):
    table = (written / "stimuli.csv").read_text().splitlines()
    manifest = json.loads((written / "manifest.json").read_text())
    header = table[0].split(",")
    cells = table[2].split(",")
    cells[header.index("mean_luminance")] = "0.5"
    table[2] = ",".join(cells)
    (written / "stimuli.csv").write_text("\n".join(table) + "\n")
    # the manifest is made to agree with the edited table, so only the luminance check can notice
    new_sha = hashlib.sha256((written / "stimuli.csv").read_bytes()).hexdigest()
    for record in manifest["files"]:
        if record["file"] == "stimuli.csv":
            record["sha256"] = new_sha
    (written / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_set(written)
    assert problems and "line 3" in problems[0] and "mean_luminance" in problems[0]


def test_verify_names_an_added_file_and_a_missing_one(written):
    (written / "images" / "extra.png").write_bytes(b"x")
    os.remove(written / "sources" / "prepared" / "a.png")
    problems = " ".join(verify_set(written))
    assert "images/extra.png: not part of the set" in problems
    assert "sources/prepared/a.png: missing" in problems


def test_regenerate_reproduces_every_kind(tmp_path, model):
    paths = [write_png(tmp_path / f"{i}.png", noise(i)) for i in range(4)]
    sets = {
        "continuum": continuum(model, *paths[:3], n_steps=5, spacing="equal", level_range=(-0.2, 2.1)),
        "grid": grid(model, paths, n_rows=2, n_columns=3, spacing="equal"),
        "wheel": wheel(model, *paths[:3], n_images=5),
        "mean": mean_image(model, paths),
    }
    for name, result in sets.items():
        write_set(tmp_path / name, result, model, adjust=Adjustment(size=12, mask="circle"), movie="gif")
        assert verify_set(tmp_path / name) == [], name
        assert regenerate_set(tmp_path / name, model=model) == [], name
    # a manifest whose parameters no longer made these images is caught
    manifest = json.loads((tmp_path / "grid" / "manifest.json").read_text())
    manifest["parameters"]["n_columns"] = 2
    (tmp_path / "grid" / "manifest.json").write_text(json.dumps(manifest))
    assert any("regenerated bytes differ" in line for line in regenerate_set(tmp_path / "grid", model=model))


def test_sets_written_before_the_source_band_regenerate_without_it(tmp_path, model):
    paths = [write_png(tmp_path / f"{i}.png", noise(i)) for i in range(2)]
    write_set(tmp_path / "old", continuum(model, *paths, n_steps=3), model, source_band=False)
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    assert "source_band" not in manifest["contact_sheet"]  # as in sets written before the band existed
    for record in manifest["inputs"]:
        del record["reconstruction_ssim"]
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    assert verify_set(tmp_path / "old") == []
    assert regenerate_set(tmp_path / "old", model=model) == []
    write_set(tmp_path / "new", continuum(model, *paths, n_steps=3), model)
    assert regenerate_set(tmp_path / "new", model=model) == []
    old_sheet = Image.open(tmp_path / "old" / "contact_sheet.png")
    assert Image.open(tmp_path / "new" / "contact_sheet.png").height > old_sheet.height  # the band is new


def test_regenerate_refuses_another_model(written, model):
    other = SquaringModel()
    other.file_sha256 = "f" * 64
    with pytest.raises(Exception, match="sha256"):
        regenerate_set(written, model=other)


# ------------------------------------------------------------------------------------------
# low-level control and movies


def test_luminance_matching_equalises_mean_and_contrast(tmp_path, model):
    result = continuum(model, noise(1) * 0.5, noise(2), n_steps=5)
    write_set(tmp_path / "set", result, model, adjust=Adjustment(match="luminance"))
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    before = [np.mean(image) for image in result["images"]]
    assert np.ptp(before) > 0.1
    for image_file, mean, contrast in zip(table["image_file"], table["mean_luminance"], table["rms_contrast"]):
        pixels = np.asarray(Image.open(tmp_path / "set" / image_file)) / 255.0
        assert pixels.mean() == pytest.approx(mean) and pixels.std() == pytest.approx(contrast)
    assert np.ptp(table["mean_luminance"]) < 2 / 255 and np.ptp(table["rms_contrast"]) < 2 / 255


def test_histogram_matching_gives_equal_histograms(model):
    images = (np.stack([noise(1) ** 2, noise(2) ** 0.5, noise(3)]) * 255).round().astype(np.uint8)
    adjust = Adjustment(match="histogram").fitted([images])
    matched = adjust.apply(images)
    histograms = [np.bincount(image.ravel(), minlength=256) for image in matched]
    cumulative = np.cumsum(histograms, axis=1) / images[0].size
    assert np.abs(cumulative - cumulative.mean(axis=0)).max() < 0.01
    assert np.abs(np.cumsum(np.bincount(images[0].ravel(), minlength=256)) / images[0].size
                  - cumulative.mean(axis=0)).max() > 0.1


def test_masks_greyscale_and_size():
    colour = (np.random.default_rng(0).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    out = Adjustment(greyscale=True, size=20, mask="circle", background=0.25).apply(colour)
    assert out.shape == (2, 20, 20, 1)
    assert (out[:, 0, 0, 0] == 64).all()  # a corner lies outside the circle: 0.25 * 255 rounds to 64
    alpha = mask_alpha("raised-cosine", 40)
    assert alpha[20, 20] == 1 and alpha[0, 0] == 0 and 0 < alpha[20, 1] < 1
    oval = mask_alpha("oval", 40)
    assert oval[20, 2] == 0 and oval[2, 20] == 1  # narrower than tall


def test_matching_colour_needs_greyscale(tmp_path):
    colour = SquaringModel(channels=3)
    result = continuum(colour, noise(1, channels=3), noise(2, channels=3), n_steps=2)
    with pytest.raises(InputError, match="--greyscale"):
        write_set(tmp_path / "set", result, colour, adjust=Adjustment(match="luminance"))
    assert not (tmp_path / "set").exists()


def test_gif_holds_every_step(tmp_path, model):
    import imageio.v3 as iio

    result = continuum(model, flat(0.1), flat(0.9), n_steps=6)
    write_set(tmp_path / "one", result, model, movie="gif")
    write_set(tmp_path / "two", result, model, movie="gif")
    frames = iio.imread(tmp_path / "one" / "morph.gif", index=None)
    assert len(frames) == 6
    assert (tmp_path / "one" / "morph.gif").read_bytes() == (tmp_path / "two" / "morph.gif").read_bytes()


def test_large_grid_sheet_is_subsampled(tmp_path, model):
    result = grid(model, [noise(1), noise(2), noise(3)], n_rows=30, n_columns=25)
    write_set(tmp_path / "set", result, model)
    sheet = Image.open(tmp_path / "set" / "contact_sheet.png")
    assert len(os.listdir(tmp_path / "set" / "images")) == 750
    assert sheet.width < 22 * 110 and sheet.height < 22 * 140


# ------------------------------------------------------------------------------------------
# metrics


def test_metrics_zero_for_identical_and_known_pixel_value():
    a, b = flat(0.0)[None], flat(0.0)[None].copy()
    b[0, :8] = 1.0  # half the pixels differ by 1: RMS sqrt(1/2) (a mean absolute difference would be 1/2)
    assert distances(a, b, "pixel")[0] == pytest.approx(np.sqrt(0.5))
    assert distances(a, a, "ssim")[0] == pytest.approx(0.0, abs=1e-12)


def test_nlpd_when_installed():
    pytest.importorskip("plenoptic")
    a, b = noise(1, size=64)[None], noise(2, size=64)[None]
    assert distances(a, a, "nlpd")[0] == pytest.approx(0.0, abs=1e-4)
    near, far = distances(a, 0.9 * a + 0.1 * b, "nlpd")[0], distances(a, b, "nlpd")[0]
    assert 0 < near < far


def test_nlpd_without_plenoptic_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "plenoptic", None)
    monkeypatch.setitem(sys.modules, "plenoptic.metric", None)
    with pytest.raises(InputError, match=r"gaia-stim\[perceptual\]"):
        distances(flat(0.1, 32)[None], flat(0.2, 32)[None], "nlpd")


def test_feature_metric_uses_the_run_folders_discriminator(tmp_path):
    import gaia_stim as gs

    data = tmp_path / "data"
    data.mkdir()
    for i in range(8):
        Image.fromarray((noise(i, size=32, channels=3) * 255).astype(np.uint8)).save(data / f"{i}.png")
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--preset", "tiny",
                                       "--batch-size", "8", "--steps", "1", "--sample-every", "1000"])
    assert result.exit_code == 0, result.output
    run = gs.load_model(str(tmp_path / "run"))
    a, b = noise(1, 32, 3)[None], noise(2, 32, 3)[None]
    assert distances(a, a, "feature", run)[0] == 0.0
    assert distances(a, b, "feature", run)[0] > 0.0
    # the features are the discriminator's: a discriminator with other weights gives other distances
    import torch

    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["discriminator"]
    run._discriminator = None
    run._discriminator_state = {k: v * 2 if v.is_floating_point() else v for k, v in state.items()}
    run._checkpoint_path = None
    assert distances(a, b, "feature", run)[0] != pytest.approx(distances(a, b, "feature", gs.load_model(str(tmp_path / "run")))[0])
    equal = continuum(run, a[0], b[0], n_steps=4, spacing="equal", metric="feature")
    assert equal["summary"]["step_distance_metric"] == "feature"
    with pytest.raises(InputError, match="discriminator"):
        continuum(gs.load_model("default"), a[0], b[0], n_steps=3, metric="feature")


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


def test_equal_spacing_between_identical_images_keeps_linear_levels(model):
    result = continuum(model, flat(0.3), flat(0.3), n_steps=5, spacing="equal")
    np.testing.assert_allclose(result["morph_levels"], [0, 0.25, 0.5, 0.75, 1])


def test_sets_from_before_sources_cannot_be_regenerated(written, model):
    manifest = json.loads((written / "manifest.json").read_text())
    for record in manifest["inputs"]:
        record.pop("given_file")
    (written / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="cannot be regenerated"):
        regenerate_set(written, model=model)


# ------------------------------------------------------------------------------------------
# the commands pass every option through


@pytest.fixture
def cli_model(monkeypatch, tmp_path):
    import gaia_stim

    model = SquaringModel()
    monkeypatch.setattr(gaia_stim, "load_model", lambda name="default", device="cpu": model, raising=False)
    monkeypatch.chdir(tmp_path)
    for i in range(4):
        write_png(tmp_path / f"{i}.png", noise(i))
    return model


def read(folder):
    return pd.read_csv(os.path.join(folder, "stimuli.csv")), json.loads(open(os.path.join(folder, "manifest.json")).read())


def test_continuum_command_options(cli_model):
    result = CliRunner().invoke(main, ["continuum", "--from", "0.png", "--via", "1.png", "--to", "2.png", "--steps", "5",
                                       "--range", "-0.5", "2.5", "--spacing", "equal", "--metric", "ssim",
                                       "--greyscale", "--size", "12", "--mask", "oval", "--background", "0",
                                       "--movie", "gif", "--out", "c"])
    assert result.exit_code == 0, result.output
    table, manifest = read("c")
    assert table["morph_level"].iloc[0] == -0.5 and table["morph_level"].iloc[-1] == 2.5
    assert "distance_ssim" in table and {"source_c", "prepared_c"} <= set(table)
    assert manifest["parameters"]["spacing"] == "equal" and manifest["parameters"]["n_steps"] == 5
    assert manifest["adjust"]["size"] == 12 and manifest["adjust"]["mask"] == "oval"
    assert os.path.isfile("c/morph.gif") and "CV" in result.output
    pixels = np.asarray(Image.open(os.path.join("c", table["image_file"][0])))
    assert pixels.shape == (12, 12) and pixels[0, 0] == 0
    assert CliRunner().invoke(main, ["verify", "c"]).exit_code == 0


def test_grid_wheel_mean_commands(cli_model):
    runner = CliRunner()
    result = runner.invoke(main, ["grid", "--image", "0.png", "--image", "1.png", "--image", "2.png", "--image", "3.png",
                                  "--rows", "3", "--columns", "2", "--u-range", "0", "2", "--out", "g"])
    assert result.exit_code == 0, result.output
    table, manifest = read("g")
    assert len(table) == 6 and table["u"].max() == 2.0 and manifest["kind"] == "grid"
    result = runner.invoke(main, ["wheel", "--centre", "0.png", "--towards", "1.png", "2.png", "--n", "6",
                                  "--radius", "0.5", "--out", "w"])
    assert result.exit_code == 0, result.output
    table, manifest = read("w")
    assert table["angle_deg"].tolist() == pytest.approx([0, 60, 120, 180, 240, 300])
    assert manifest["parameters"]["radius"] == 0.5
    result = runner.invoke(main, ["mean", "0.png", "1.png", "2.png", "--out", "m", "--match", "histogram"])
    assert result.exit_code == 0, result.output
    assert read("m")[1]["adjust"]["match"] == "histogram"
    for folder in ("g", "w", "m"):
        assert runner.invoke(main, ["verify", folder]).exit_code == 0, folder


def test_mp4_when_imageio_ffmpeg_is_installed(tmp_path, model):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v3 as iio

    write_set(tmp_path / "set", continuum(model, flat(0.1), flat(0.9), n_steps=6), model, movie="mp4")
    assert len(iio.imread(tmp_path / "set" / "morph.mp4", index=None)) == 6
    assert regenerate_set(tmp_path / "set", model=model) == []


@pytest.mark.parametrize("edit, says", [
    (lambda m: m.update(images=5), r"images is 5 \(a whole number\), not a list"),
    (lambda m: m.update(table="x"), r"table is 'x' \(text\), not a table of named values"),
    (lambda m: m.update(parameters=[1, 2]), r"parameters is \[1, 2\] \(a list\), not a table of named values"),
    (lambda m: m["images"][0].update(file="../../outside/secret.txt"), "outside the set"),
    (lambda m: m["inputs"][0].update(given_file="../../outside/face.png"), r"inputs\[0\]\.given_file is .*outside the set"),
    (lambda m: m.update(n_images=1000000), "n_images is 1000000, but 'images' lists"),
    (lambda m: m["files"].append({"file": "../../outside/secret.txt", "sha256": "0" * 64}), "outside the set"),
    (lambda m: m["files"].append({"file": "/etc/passwd", "sha256": "0" * 64}), "outside the set"),
])
def test_a_damaged_or_edited_manifest_is_one_clear_error(written, model, edit, says):
    from gaia_stim.core.errors import DataError

    manifest = json.loads((written / "manifest.json").read_text())
    edit(manifest)
    (written / "manifest.json").write_text(json.dumps(manifest))
    for check in (lambda: verify_set(written), lambda: regenerate_set(written, model=model)):
        with pytest.raises(DataError, match=says):
            check()


def test_verify_refuses_images_that_are_links_to_copies_outside_the_set(written, tmp_path):
    import shutil

    outside = tmp_path / "elsewhere"
    shutil.copytree(written / "images", outside)
    name = sorted(os.listdir(written / "images"))[0]
    os.remove(written / "images" / name)
    os.symlink(outside / name, written / "images" / name)
    assert any("a link to a file elsewhere" in problem for problem in verify_set(written))
    shutil.rmtree(written / "images")
    os.symlink(outside, written / "images")  # the whole folder a link to an identical copy
    problems = verify_set(written)
    assert len([p for p in problems if "a link to a file elsewhere" in p]) == len(os.listdir(outside))


def test_a_mean_of_more_than_26_images_names_every_source(tmp_path, model):
    paths = [write_png(tmp_path / f"{i}.png", noise(i)) for i in range(30)]
    result = mean_image(model, paths)
    roles = [source["role"] for source in result["sources"]]
    assert roles[:2] == ["a", "b"] and roles[25:28] == ["z", "aa", "ab"] and len(set(roles)) == 30
    write_set(tmp_path / "mean", result, model)
    table = pd.read_csv(tmp_path / "mean" / "stimuli.csv")
    assert (tmp_path / "mean" / table["source_ad"][0]).read_bytes() == open(paths[29], "rb").read()
    assert verify_set(tmp_path / "mean") == [] and regenerate_set(tmp_path / "mean", model=model) == []
    from gaia_stim.core.errors import InputError

    with pytest.raises(InputError, match="at most 702 images"):
        mean_image(model, paths * 24)


# ------------------------------------------------------------------------------------------
# values computed here, independently of the code under test


def grey_power(power):
    """render(levels) of a path of flat images of grey t ** power: the pixel distance from t = 0 is t ** power."""

    def render(levels):
        levels = np.asarray(levels, dtype=np.float64)
        return levels[:, None], np.ones((len(levels), 4, 4, 1)) * (levels**power)[:, None, None, None]

    return render


def test_the_first_pass_of_equal_spacing_inverts_the_arc_length():
    # Grey t ** 2: equal steps lie at t = sqrt(i / 10). The first pass alone (no refinement round) finds
    # them, to the precision of its piecewise-linear inverse over 21 samples.
    from gaia_stim.stimuli._common import equal_steps

    levels = equal_steps(np.linspace(0, 1, 11), grey_power(2), "pixel", rounds=0)[0]
    np.testing.assert_allclose(levels, np.sqrt(np.arange(11) / 10), atol=0.01)


def test_equal_spacing_refines_a_coarse_first_pass_until_the_steps_are_equal():
    # Grey t ** 10: the first pass's 21 samples miss the bend (its steps vary by about 10 %); the rounds
    # that follow must leave steps, measured here from the images returned, within the 0.5 % tolerance,
    # at t = (i / 10) ** (1 / 10).
    from gaia_stim.stimuli._common import equal_steps

    levels, _, images, _ = equal_steps(np.linspace(0, 1, 11), grey_power(10), "pixel")
    assert cv(rms(images[:-1], images[1:])) <= 0.005
    np.testing.assert_allclose(levels, (np.arange(11) / 10) ** 0.1, atol=0.002)


def test_luminance_matching_reaches_the_sets_mean_luminance_and_contrast():
    # SHINE's lumMatch: every image gets the mean of the images' mean luminances and the mean of their
    # RMS contrasts, computed here from the unmatched pixels (means about 0.2, 0.3, 0.7: their median
    # would be 0.3, their mean is 0.4).
    rng = np.random.default_rng(0)
    images = np.stack([np.clip(mean + spread * rng.standard_normal((32, 32, 1)), 0, 1)
                       for mean, spread in ((0.2, 0.05), (0.3, 0.1), (0.7, 0.15))])
    pixels = np.round(images * 255).astype(np.uint8)
    target_mean = np.mean([image.mean() for image in pixels / 255])
    target_contrast = np.mean([image.std() for image in pixels / 255])
    matched = Adjustment(match="luminance", figure="whole").fitted([pixels]).apply(pixels) / 255
    for image in matched:
        assert image.mean() == pytest.approx(target_mean, abs=1 / 255)
        assert image.std() == pytest.approx(target_contrast, abs=1 / 255)


def test_figure_matching_reaches_the_figures_mean_luminance_and_contrast():
    # Discs of noise on a plain mid-grey ground: each figure, as drawn, gets the mean of the figures'
    # mean luminances and of their RMS contrasts (measured here over the discs, before matching), and
    # the ground becomes the background grey.
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:48]
    disc = np.hypot(yy - 23.5, xx - 23.5) < 14
    pixels = []
    for mean, spread in ((0.15, 0.03), (0.25, 0.05), (0.3, 0.04)):
        image = np.full((48, 48), 0.5)
        image[disc] = mean + spread * rng.standard_normal(disc.sum())
        pixels.append(np.round(image * 255).astype(np.uint8)[..., None])
    pixels = np.stack(pixels)
    target_mean = np.mean([image[..., 0][disc].mean() for image in pixels / 255])
    target_contrast = np.mean([image[..., 0][disc].std() for image in pixels / 255])
    matched, figures = Adjustment(match="luminance", background=0.5).fitted([pixels]).apply_with_figures(pixels)
    for image, figure in zip(matched / 255, figures):
        assert np.abs(figure.sum() - disc.sum()) <= 0.02 * disc.sum()
        # the outline is drawn blended with the ground, so the figure as drawn is a little paler
        assert image[..., 0][figure].mean() == pytest.approx(target_mean, abs=0.01)
        assert image[..., 0][figure].std() == pytest.approx(target_contrast, abs=0.01)
        assert np.all(image[..., 0][~figure] == 128 / 255)


def test_histogram_matching_gives_every_image_the_pooled_histogram():
    # Exact histogram specification: at every grey level, each image's cumulative count is the pooled
    # cumulative share (counted here) times its pixels, to the nearest pixel.
    rng = np.random.default_rng(2)
    pixels = np.round(np.stack([rng.random((24, 24, 1)) ** power for power in (0.5, 1.0, 2.0)]) * 255).astype(np.uint8)
    pooled = np.cumsum(np.bincount(pixels.ravel(), minlength=256)) / pixels.size
    matched = Adjustment(match="histogram", figure="whole").fitted([pixels]).apply(pixels)
    for image in matched:
        counts = np.cumsum(np.bincount(image.ravel(), minlength=256))
        assert np.abs(counts - image.size * pooled).max() <= 0.5 + 1e-9


def test_the_default_wheel_radius_is_half_the_mean_distance_to_a_and_b(model):
    centre, a, b = flat(0.4), noise(1), noise(2)
    codes = model.encode(np.stack([centre, a, b])).astype(np.float64)
    expected = (np.linalg.norm(codes[1] - codes[0]) + np.linalg.norm(codes[2] - codes[0])) / 2 / 2
    result = wheel(model, centre, a, b, n_images=6)
    assert result["radius"] == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(np.linalg.norm(result["latents"] - codes[0], axis=1), expected, rtol=1e-4)


def test_each_wheel_row_records_the_distance_to_the_image_before_it(model):
    # a wide wheel around a dark centre: images clipped at black on one side, so the steps are unequal
    result = wheel(model, flat(0.05), noise(1), noise(2), n_images=7, radius=3.0)
    images = result["images"]
    before = rms(images, np.roll(images, 1, axis=0))  # image i against image i - 1 (the last, for the first)
    assert np.ptp(before) > 0.3 * before.mean()  # so a column shifted by one image would show
    np.testing.assert_allclose([row["distance_pixel"] for row in result["rows"]], before, rtol=1e-5)


def test_step_distances_around_a_loop_go_to_the_next_image():
    from gaia_stim.metrics import step_distances

    images = np.stack([flat(value) for value in (0.0, 0.1, 0.3, 0.6)])
    np.testing.assert_allclose(step_distances(images, closed=True), [0.1, 0.2, 0.3, 0.6], atol=1e-6)
    np.testing.assert_allclose(step_distances(images), [0.1, 0.2, 0.3], atol=1e-6)
