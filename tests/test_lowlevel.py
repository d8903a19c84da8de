"""Low-level control matches the figure, not the frame, and holds the background at one grey.

Every measurement here is taken on the written PNGs, with the figure and background told apart by
the test itself: on the shipped model's faces, from the unmatched images (a stricter threshold than
the code's, no connectivity); on the stand-in continua, from the discs the test drew.
"""

import json
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

import gaia_stim
from conftest import SquaringModel, flat, noise
from gaia_stim.cli import main
from gaia_stim.core.errors import InputError
from gaia_stim.io.sets import verify_set, write_set
from gaia_stim.stimuli import continuum
from gaia_stim.stimuli.lowlevel import Adjustment, FigureWarning, mask_alpha
from gaia_stim.stimuli.regenerate import regenerate_set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(ROOT, "examples", "faces")
GREY = round(0.5 * 255)  # the default --background, as written


def written_images(folder):
    """The set's images in table order, (n, S, S) float in 0..255."""
    table = pd.read_csv(os.path.join(folder, "stimuli.csv"))
    return np.stack([np.asarray(Image.open(os.path.join(folder, name)), dtype=np.float64)
                     for name in table["image_file"]])


def oval(side):
    """The oval aperture as the docs define it: an upright ellipse 3/4 as wide as it is tall."""
    y, x = np.mgrid[0:side, 0:side]
    centre = (side - 1) / 2
    return np.hypot((x - centre) / (0.75 * side / 2), (y - centre) / (side / 2)) <= 1


def figure_statistics(images, regions):
    """Mean and RMS contrast (0..1) of each image over its region."""
    return (np.array([image[region].mean() / 255 for image, region in zip(images, regions)]),
            np.array([image[region].std() / 255 for image, region in zip(images, regions)]))


# ------------------------------------------------------------------------------------------
# the shipped model's faces: face_00002 -> face_00006, whose grounds and hair differ


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """The continuum written unmatched, matched (luminance, histogram) and as SHINE would, with the test's split."""
    model = gaia_stim.load_model("default")
    result = continuum(model, os.path.join(FACES, "face_00002.png"), os.path.join(FACES, "face_00006.png"), n_steps=7)
    root = tmp_path_factory.mktemp("faces")
    adjustments = {
        "plain": Adjustment(greyscale=True),
        "on_grey": Adjustment(greyscale=True, mask="oval", figure="auto"),
        "luminance": Adjustment(greyscale=True, match="luminance", mask="oval"),
        "histogram": Adjustment(greyscale=True, match="histogram", mask="oval"),
        "shine": Adjustment(greyscale=True, match="luminance", mask="oval", figure="whole"),
    }
    sets = {}
    for name, adjust in adjustments.items():
        write_set(root / name, result, model, adjust=adjust)
        sets[name] = root / name
    plain = written_images(sets["plain"])
    side = plain.shape[1]
    border = np.concatenate([plain[:, 0], plain[:, -1], plain[:, 1:-1, 0], plain[:, 1:-1, -1]], axis=1)
    ground = np.median(border, axis=1)[:, None, None]  # each unmatched image's plain grey
    aperture = oval(side)
    # the test's own split: clearly not the ground (12 levels, twice the code's threshold), and clearly
    # the ground in every image (within 3 levels): the sources' plain background inside the mask
    figures = (np.abs(plain - ground) > 12) & aperture
    background = np.all(np.abs(plain - ground) <= 3, axis=0) & aperture
    # and what lies between: the soft outline where face and ground blend, and its ringing. An outline
    # pixel touches the plain ground that reaches the frame's edge: a sharp model also draws pixels of
    # the ground's grey inside the face (eye whites, light skin in greyscale), which are figure
    plain_ground = np.abs(plain - ground) <= 3
    touching = np.zeros_like(plain_ground)
    for index, image_ground in enumerate(plain_ground):
        parts, _ = ndimage.label(image_ground)
        edge = np.setdiff1d(np.unique(np.concatenate([parts[0], parts[-1], parts[:, 0], parts[:, -1]])), [0])
        touching[index] = ndimage.binary_dilation(np.isin(parts, edge), iterations=2)
    outlines = (np.abs(plain - ground) > 3) & (np.abs(plain - ground) <= 12) & aperture & touching
    assert background.sum() > 100 and figures.sum(axis=(1, 2)).min() > 1000
    # every image has an outline to test, the set dozens of pixels: a sharp model's outline is thin
    # (the default model draws the dark, long-haired end with 5 pixels of it, the short-haired with 25)
    assert outlines.sum(axis=(1, 2)).min() > 0 and outlines.sum() > 50
    return {"sets": sets, "figures": figures, "background": background, "outlines": outlines, "aperture": aperture}


def test_a_matched_masked_continuum_holds_its_figures_and_its_background(faces):
    """The issue: matching shifted the ground with the face (0.75 -> 0.81 inside the oval)."""
    figures, background = faces["figures"], faces["background"]
    plain_means, plain_contrasts = figure_statistics(written_images(faces["sets"]["plain"]), figures)
    assert np.ptp(plain_means) > 0.1 and np.ptp(plain_contrasts) > 0.03  # there is something to match
    shine = written_images(faces["sets"]["shine"])
    assert np.ptp([image[background].mean() / 255 for image in shine]) > 0.03  # the drift the issue found

    matched = written_images(faces["sets"]["luminance"])
    means, contrasts = figure_statistics(matched, figures)
    assert np.ptp(means) < 0.005 and np.ptp(contrasts) < 0.005, (means, contrasts)  # < 0.5 % of the range
    drift = [image[background].mean() / 255 for image in matched]
    assert np.ptp(drift) < 0.01, drift
    assert drift[0] == pytest.approx(GREY / 255)  # the ground is the window's grey


def test_no_recorded_statistic_and_no_background_pixel_varies_along_a_matched_set(faces):
    folder = faces["sets"]["luminance"]
    table = pd.read_csv(folder / "stimuli.csv")
    # the whole frame's columns stay where they were; the figure's come after them
    assert list(table.columns[-4:]) == ["mean_luminance", "rms_contrast", "figure_luminance", "figure_rms_contrast"]
    for column in ("figure_luminance", "figure_rms_contrast", "mean_luminance", "rms_contrast"):
        assert np.ptp(table[column]) < 0.005, (column, table[column].tolist())
    assert table["figure_rms_contrast"].min() > 0.1
    images = written_images(folder)
    ground_everywhere = faces["background"] | ~faces["aperture"]
    assert (images[:, ground_everywhere] == GREY).all()  # every pixel, not just their mean
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["adjust"]["background"] == 0.5
    assert manifest["adjust"]["figure"]["method"] == "auto" and manifest["adjust"]["figure"]["background_set"] is True
    assert verify_set(folder) == []
    # a set written the old way has the old columns and no figure record
    shine = pd.read_csv(faces["sets"]["shine"] / "stimuli.csv")
    assert "figure_luminance" not in shine and list(shine.columns[-2:]) == ["mean_luminance", "rms_contrast"]
    assert "figure" not in json.loads((faces["sets"]["shine"] / "manifest.json").read_text())["adjust"]


def test_the_outline_does_not_carry_the_old_ground(faces):
    """Pixels that were mostly ground are drawn near the new grey, not matched into a halo around the face."""
    for name in ("shine", "luminance"):
        away = [np.abs(image[outline] - GREY) for image, outline in zip(written_images(faces["sets"][name]),
                                                                          faces["outlines"])]
        if name == "shine":
            assert min(np.mean(distance) for distance in away) > 40  # SHINE's way: the ground moved, outline with it
        else:
            assert max(np.mean(distance) for distance in away) < 6 and max(np.max(distance) for distance in away) < 20


def test_histogram_matching_gives_the_faces_equal_figure_histograms(faces):
    def histograms(name):
        images = written_images(faces["sets"][name])
        return np.array([np.cumsum(np.bincount(image[region].astype(int), minlength=256)) / region.sum()
                         for image, region in zip(images, faces["figures"])])

    assert np.abs(histograms("plain") - histograms("plain").mean(axis=0)).max() > 0.2
    cumulative = histograms("histogram")
    assert np.abs(cumulative - cumulative.mean(axis=0)).max() < 0.01  # the test's split, not the code's: not exact
    images = written_images(faces["sets"]["histogram"])
    assert (images[:, faces["background"] | ~faces["aperture"]] == GREY).all()


def test_contrast_matching_gives_the_faces_the_sets_mean_contrast(faces):
    """Matched, each face has the mean figure contrast of the set on the grey, not a flattened ~0."""
    target_means, target_contrasts = figure_statistics(written_images(faces["sets"]["on_grey"]), faces["figures"])
    means, contrasts = figure_statistics(written_images(faces["sets"]["luminance"]), faces["figures"])
    assert np.abs(contrasts - target_contrasts.mean()).max() < 0.002, (contrasts, target_contrasts.mean())
    assert np.abs(means - target_means.mean()).max() < 0.002
    assert target_contrasts.mean() > 0.1


# ------------------------------------------------------------------------------------------
# the stand-in model: discs drawn by the test, on grounds that change along the continuum

SIDE, RADIUS, TEXTURED = 32, 10, 7


def disc_source(ground, mean, contrast, seed):
    """A disc of radius 10 on a plain ground: a uniform rim 3 pixels wide around a textured inside."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    distance = np.hypot(x - 15.5, y - 15.5)
    image = np.full((SIDE, SIDE, 1), ground, dtype=np.float32)
    texture = np.random.default_rng(seed).normal(mean, contrast, (SIDE, SIDE))
    image[distance < RADIUS, 0] = mean
    image[distance < TEXTURED, 0] = np.clip(texture, 0.02, 0.45)[distance < TEXTURED]
    return image


@pytest.fixture(scope="module")
def discs():
    model = SquaringModel(image_size=SIDE)
    result = continuum(model, disc_source(0.85, 0.3, 0.08, 1), disc_source(0.6, 0.15, 0.02, 2), n_steps=5)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    figure = np.hypot(x - 15.5, y - 15.5) < RADIUS
    return model, result, figure


def test_histogram_matching_gives_equal_figure_histograms(tmp_path, discs):
    model, result, figure = discs
    write_set(tmp_path / "set", result, model, adjust=Adjustment(match="histogram", mask="circle"))
    images = written_images(tmp_path / "set")
    histograms = [np.bincount(image[figure].astype(int), minlength=256) for image in images]
    for histogram in histograms[1:]:
        np.testing.assert_array_equal(histogram, histograms[0])
    assert (images[:, ~figure] == GREY).all()
    given = np.round(np.asarray(result["images"])[..., 0] * 255)
    assert not np.array_equal(np.bincount(given[0][figure].astype(int), minlength=256), histograms[0])


def test_contrast_matching_does_not_flatten_the_figures(tmp_path, discs):
    model, result, figure = discs
    given = np.round(np.asarray(result["images"])[..., 0] * 255)  # the writer's 8-bit images
    target_mean = np.mean([image[figure].mean() for image in given]) / 255
    target_contrast = np.mean([image[figure].std() for image in given]) / 255
    assert np.ptp([image[figure].std() for image in given]) / 255 > 0.02  # the discs' contrasts differ
    write_set(tmp_path / "set", result, model, adjust=Adjustment(match="luminance", mask="circle"))
    means, contrasts = figure_statistics(written_images(tmp_path / "set"), [figure] * len(given))
    assert target_contrast > 0.02
    np.testing.assert_allclose(contrasts, target_contrast, atol=0.5 / 255)
    np.testing.assert_allclose(means, target_mean, atol=0.5 / 255)
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    np.testing.assert_allclose(table["figure_rms_contrast"], contrasts, atol=1e-12)  # the code's split is the disc


def test_a_figure_mask_file_is_recorded_and_the_set_rebuilds_from_its_manifest(tmp_path, discs):
    model, result, figure = discs
    Image.fromarray(np.kron(figure, np.ones((2, 2))).astype(np.uint8) * 255).save(tmp_path / "figure.png")  # 64 px
    write_set(tmp_path / "set", result, model, adjust=Adjustment(match="luminance", figure=tmp_path / "figure.png"))
    record = json.loads((tmp_path / "set" / "manifest.json").read_text())["adjust"]["figure"]
    assert record["method"] == "file" and record["file"] == "figure.png" and record["shape"] == [64, 64]
    images = written_images(tmp_path / "set")
    assert (images[:, ~figure] == GREY).all() and np.ptp([image[figure].std() for image in images]) < 1
    os.remove(tmp_path / "figure.png")  # the manifest holds the mask itself
    assert verify_set(tmp_path / "set") == [] and regenerate_set(tmp_path / "set", model=model) == []


def test_a_set_without_plain_grounds_falls_back_to_the_whole_aperture(tmp_path):
    model = SquaringModel()
    noise = [np.random.default_rng(seed).random((16, 16, 1)).astype(np.float32) for seed in (1, 2)]
    result = continuum(model, *noise, n_steps=3)
    with pytest.warns(FigureWarning, match="3 of 3 images have no plain background.*--figure FILE"):
        write_set(tmp_path / "auto", result, model, adjust=Adjustment(match="luminance", mask="circle"))
    write_set(tmp_path / "whole", result, model, adjust=Adjustment(match="luminance", mask="circle", figure="whole"))
    for name in sorted(os.listdir(tmp_path / "whole" / "images")):
        assert (tmp_path / "auto" / "images" / name).read_bytes() == (tmp_path / "whole" / "images" / name).read_bytes()
    assert json.loads((tmp_path / "auto" / "manifest.json").read_text())["adjust"]["figure"]["background_set"] is False
    table = pd.read_csv(tmp_path / "auto" / "stimuli.csv")
    images = written_images(tmp_path / "auto")
    inside = np.hypot(*(np.mgrid[0:16, 0:16] - 7.5)) / 8 <= 1
    np.testing.assert_allclose(table["figure_luminance"], [image[inside].mean() / 255 for image in images])
    with pytest.warns(FigureWarning):  # rebuilding it warns again
        assert regenerate_set(tmp_path / "auto", model=model) == []


@pytest.mark.parametrize("figure, words", [
    ("nowhere.png", "'nowhere.png' does not exist"),
    (np.zeros((4, 5), bool), "square"),
    (np.ones((4, 4), bool), "all figure"),
    (3, "auto, whole or a figure mask image"),
])
def test_bad_figures_are_refused_in_one_line(figure, words):
    with pytest.raises(InputError, match=words) as raised:
        Adjustment(match="luminance", figure=figure)
    assert "\n" not in str(raised.value)


def test_the_commands_take_figure_and_record_it(monkeypatch, tmp_path, discs):
    model, result, _ = discs
    monkeypatch.setattr(gaia_stim, "load_model", lambda name="default", device="cpu": model, raising=False)
    monkeypatch.chdir(tmp_path)
    for index, image in enumerate(np.asarray(result["images"])[[0, -1]]):
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8)).save(f"{index}.png")
    runner = CliRunner()
    answer = runner.invoke(main, ["continuum", "--from", "0.png", "--to", "1.png", "--steps", "3", "--figure", "auto",
                                  "--mask", "oval", "--background", "0.25", "--out", "c"])
    assert answer.exit_code == 0, answer.output
    adjust = json.loads(open("c/manifest.json").read())["adjust"]
    assert adjust["figure"]["method"] == "auto" and adjust["match"] is None and adjust["background"] == 0.25
    images = written_images("c")
    assert (images[:, 0, 0] == round(0.25 * 255)).all() and (images[:, 16, 5] == round(0.25 * 255)).all()
    assert runner.invoke(main, ["verify", "c"]).exit_code == 0
    answer = runner.invoke(main, ["continuum", "--from", "0.png", "--to", "1.png", "--figure", "none.png", "--out", "d"])
    assert answer.exit_code == 1 and "does not exist" in answer.output and not os.path.exists("d")


# ------------------------------------------------------------------------------------------
# the ground every set records, and the window the protocols give it


def protocol_display():
    """protocols/_display.py, imported as the protocol scripts import it."""
    import sys

    folder = os.path.join(ROOT, "protocols")
    sys.path.insert(0, folder)
    try:
        import _display
    finally:
        sys.path.remove(folder)
    return _display


def manifest_of(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_a_masked_unmatched_continuum_shows_nothing_but_its_figure_on_the_recorded_ground(tmp_path, discs):
    """The issue: --mask alone kept each source's own ground inside the aperture, a disc on the window's grey."""
    model, result, figure = discs  # the discs stand on grounds of 0.85 to 0.6, the window is 0.3
    write_set(tmp_path / "masked", result, model, adjust=Adjustment(mask="circle", background=0.3))
    window = manifest_of(tmp_path / "masked")["ground"]["level"] * 255  # what the protocols fill the window with
    assert abs(window - 0.3 * 255) <= 0.5  # the --background asked for, as an 8-bit grey
    images = written_images(tmp_path / "masked")
    assert np.abs(images[:, ~figure] - window).max() <= 1, np.abs(images[:, ~figure] - window).max()
    # the figure itself is left as the model drew it
    write_set(tmp_path / "unadjusted", result, model)
    np.testing.assert_array_equal(images[:, figure], written_images(tmp_path / "unadjusted")[:, figure])
    # ... and the protocols show the set on that grey
    assert protocol_display().set_ground(str(tmp_path / "masked")) == [window / 255] * 3
    # the table and the manifest say what was done: figures split, their own columns
    table = pd.read_csv(tmp_path / "masked" / "stimuli.csv")
    np.testing.assert_allclose(table["figure_luminance"], [image[figure].mean() / 255 for image in images])
    adjust = manifest_of(tmp_path / "masked")["adjust"]
    assert adjust["figure"]["method"] == "auto" and adjust["figure"]["background_set"] is True
    # the old default, kept as --figure whole, shows the sources' grounds through the aperture
    write_set(tmp_path / "whole", result, model, adjust=Adjustment(mask="circle", background=0.3, figure="whole"))
    assert np.abs(written_images(tmp_path / "whole")[:, ~figure] - window).max() > 50


def border_pixels(images):
    """Every image's outermost pixels, each once, pooled: (n,) in 0..255."""
    return np.concatenate([np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]]) for image in images])


def test_every_set_records_the_ground_it_was_written_with(tmp_path, discs):
    model, result, figure = discs
    cases = {
        "unadjusted": (None, None, None),
        "greyscale": (Adjustment(greyscale=True), None, None),
        "masked": (Adjustment(mask="oval", background=0.25), 64 / 255, "every pixel but the figure"),
        "whole": (Adjustment(mask="oval", background=0.25, figure="whole"), 64 / 255, "every pixel outside the mask"),
        "grounded": (Adjustment(figure="auto", background=1.0), 1.0, "every pixel but the figure"),
        "matched": (Adjustment(match="luminance", background=0.5), 128 / 255, "every pixel but the figure"),
    }
    for name, (adjust, level, covers) in cases.items():
        write_set(tmp_path / name, result, model, adjust=adjust)
        ground = manifest_of(tmp_path / name)["ground"]
        assert ground["level"] == level and ground["covers"] == covers, name
        ring = border_pixels(written_images(tmp_path / name))
        median = np.median(ring)
        assert ground["border"]["median"] == pytest.approx([median / 255], abs=1e-12), name
        assert ground["border"]["plain_share"] == pytest.approx(np.mean(np.abs(ring - median) <= 6), abs=1e-12), name
        assert ground["border"]["spread"] == pytest.approx(ring.std() / 255, abs=1e-12), name
        assert verify_set(tmp_path / name) == [], name
    # left alone, the continuum's grounds run from 0.85 to 0.6: no level, and a border that is not one grey
    unadjusted = manifest_of(tmp_path / "unadjusted")["ground"]["border"]
    assert unadjusted["plain_share"] < 0.5 and unadjusted["spread"] > 0.05
    assert manifest_of(tmp_path / "masked")["ground"]["border"]["spread"] == 0  # one grey all round


def test_a_textured_ground_records_no_level(tmp_path):
    model = SquaringModel()
    noise = [np.random.default_rng(seed).random((16, 16, 1)).astype(np.float32) for seed in (1, 2)]
    result = continuum(model, *noise, n_steps=3)
    with pytest.warns(FigureWarning, match="keeps its own ground.*--figure FILE"):
        write_set(tmp_path / "set", result, model, adjust=Adjustment(figure="auto"))
    ground = manifest_of(tmp_path / "set")["ground"]
    assert ground["level"] is None and ground["covers"] is None
    ring = border_pixels(written_images(tmp_path / "set"))
    assert ground["border"]["plain_share"] == pytest.approx(np.mean(np.abs(ring - np.median(ring)) <= 6))
    assert ground["border"]["plain_share"] < 0.5
    # masked, the grey outside the mask is the set's, though each image keeps its own ground inside it
    with pytest.warns(FigureWarning, match="keeps its own ground inside the mask"):
        write_set(tmp_path / "masked", result, model, adjust=Adjustment(mask="circle"))
    assert manifest_of(tmp_path / "masked")["ground"]["covers"] == "every pixel outside the mask"


def test_sets_written_before_the_ground_record_rebuild_the_old_way_and_the_protocols_read_them(tmp_path, discs):
    """A masked set written before: no figure record (the whole aperture), no ground record."""
    model, result, figure = discs
    old = tmp_path / "old"
    write_set(old, result, model, adjust=Adjustment(mask="circle", background=0.3, figure="whole"))
    manifest = manifest_of(old)
    assert "figure" not in manifest["adjust"]
    del manifest["ground"]
    (old / "manifest.json").write_text(json.dumps(manifest, indent=2))
    # a mask now sets the ground by default; the old manifest still rebuilds the old bytes
    write_set(tmp_path / "new", result, model, adjust=Adjustment(mask="circle", background=0.3))
    first = sorted(os.listdir(old / "images"))[0]
    assert (old / "images" / first).read_bytes() != (tmp_path / "new" / "images" / first).read_bytes()
    assert verify_set(old) == [] and regenerate_set(old, model=model) == []
    # the protocols: a recorded level, else an old manifest's mask grey, else the images' borders
    display = protocol_display()
    paths = [str(old / "images" / name) for name in sorted(os.listdir(old / "images"))]
    grey, source = display.set_background("auto", manifest, paths)
    assert source == "manifest (adjust.background)" and list(grey) == [0.3] * 3
    grey, source = display.set_background("auto", manifest_of(tmp_path / "new"), paths)
    corner = written_images(tmp_path / "new")[0, 0, 0]  # outside the mask: the grey as written (76.5 rounds to 76)
    assert source == "manifest (ground.level)" and list(grey) == [corner / 255] * 3 and corner == 76
    write_set(tmp_path / "unadjusted", result, model)
    loose = sorted((tmp_path / "unadjusted" / "images").iterdir())[:1]  # the first image: its ground is 0.85
    grey, source = display.set_background("auto", manifest_of(tmp_path / "unadjusted"), [str(path) for path in loose])
    assert source.startswith("image borders") and list(grey) == [round(0.85 * 255) / 255] * 3
    assert display.set_ground(str(tmp_path / "unadjusted")) is None
    assert display.set_ground(str(tmp_path / "nowhere")) is None


@pytest.mark.parametrize("ground, says", [
    ({"level": 2, "covers": None, "border": {"median": [0.5], "plain_share": 1, "spread": 0}}, "ground.level is 2"),
    ({"level": None, "covers": "the frame", "border": {"median": [0.5], "plain_share": 1, "spread": 0}},
     "ground.covers"),
    ({"level": None, "covers": None}, "ground lacks 'border'"),
])
def test_a_damaged_ground_record_is_refused_naming_it(tmp_path, discs, ground, says):
    from gaia_stim.core.errors import DataError
    from gaia_stim.io.sets import read_manifest

    model, result, _ = discs
    write_set(tmp_path / "set", result, model)
    manifest = manifest_of(tmp_path / "set")
    manifest["ground"] = ground
    (tmp_path / "set" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=says):
        read_manifest(tmp_path / "set")


# ------------------------------------------------------------------------------------------
# matching, masks and size on the squaring stand-in's images; targets computed here from the pixels


@pytest.fixture
def model():
    """The squaring stand-in (conftest.py)."""
    return SquaringModel()


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


def test_a_colour_sets_border_is_recorded_per_channel_and_a_preview_gets_the_ground_too(tmp_path, discs):
    _, grey_result, figure = discs
    model = SquaringModel(image_size=SIDE, channels=3)
    tints = [np.concatenate([disc_source(ground, 0.3, 0.05, seed)] * 3, axis=-1) * [1.0, 0.8, 0.5]
             for ground, seed in ((0.9, 1), (0.7, 2))]
    result = continuum(model, *[tint.astype(np.float32) for tint in tints], n_steps=3)
    write_set(tmp_path / "colour", result, model)
    ground = manifest_of(tmp_path / "colour")["ground"]
    ring = np.concatenate([np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])
                           for image in written_images(tmp_path / "colour")])  # (n, 3)
    np.testing.assert_allclose(ground["border"]["median"], np.median(ring, axis=0) / 255, atol=1e-12)
    assert ground["border"]["spread"] == pytest.approx(ring.std(axis=0).max() / 255, abs=1e-12)
    assert ground["level"] is None
    # a preview (the explorer's frame) applies a mask unfitted: the frame alone decides, its ground goes grey too
    frame = np.round(np.asarray(grey_result["images"])[:1] * 255).astype(np.uint8)
    shown = Adjustment(mask="circle", background=0.25).apply(frame)[0, ..., 0]
    assert (shown[~figure] == 64).all() and (shown[figure] == frame[0, ..., 0][figure]).all()
