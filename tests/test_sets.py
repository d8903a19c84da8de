"""Stimulus sets on disk (gaia_stim/io/sets.py): layout, the PsychoPy table, the manifest, atomic
writing, determinism, and ``verify``.

Stand-ins from conftest.py: ``LinearModel`` (the ``model`` here) and ``BlurringModel`` for the
writer; ``SquaringModel`` and its small set ``written`` for verify.
"""

import csv
import hashlib
import json
import os
import re
import sys
import types

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import BlurringModel, LinearModel, SquaringModel, flat
from gaia_stim.cli import main
from gaia_stim.io import sets as stimulus_sets
from gaia_stim.core import ownership as output_folders
from gaia_stim._version import __version__
from gaia_stim.core.errors import InputError, OutputExistsError
from gaia_stim.stimuli import continuum
from gaia_stim.io.sets import verify_set, write_set, write_stimulus_set
from gaia_stim.stimuli.regenerate import regenerate_set
from gaia_stim.io.tables import (
    looks_like_non_text,
    text_cell,
)

HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def sources(tmp_path_factory):
    """Two image files of a different size than the model's (so they get resized)."""
    folder = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    path_a, path_b = folder / "face_a.png", folder / "007.png"
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path_a)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path_b)
    return str(path_a), str(path_b)


@pytest.fixture
def model():
    return LinearModel()


@pytest.fixture
def result(model, sources):
    return continuum(model, *sources, n_steps=11)


def hidden_entries(folder):
    return [name for name in os.listdir(folder) if name.startswith(".")]


# ------------------------------------------------------------------------------------------
# layout, table, manifest


def test_layout_and_file_names(tmp_path, result, model):
    out = tmp_path / "set"
    assert write_set(out, result, model) == str(out)
    assert sorted(os.listdir(out)) == ["contact_sheet.png", "images", "manifest.json", "sources", "stimuli.csv"]
    assert sorted(os.listdir(out / "sources" / "given")) == ["a_face_a.png", "b_007.png"]
    assert sorted(os.listdir(out / "sources" / "prepared")) == ["a.png", "b.png"]
    names = os.listdir(out / "images")
    expected = [f"step_{step:02d}_morph_{step / 10:.3f}.png" for step in range(11)]
    assert sorted(names) == expected
    assert expected[0] == "step_00_morph_0.000.png" and expected[-1] == "step_10_morph_1.000.png"
    assert hidden_entries(tmp_path) == []


def test_many_steps_are_padded_and_sort(tmp_path, model):
    result = continuum(model, np.zeros((8, 8, 3)), np.ones((8, 8, 3)), n_steps=101)
    write_set(tmp_path / "set", result, model)
    names = sorted(os.listdir(tmp_path / "set" / "images"))
    assert names[0] == "step_000_morph_0.000.png" and names[-1] == "step_100_morph_1.000.png"
    steps = [int(name.split("_")[1]) for name in names]
    assert steps == list(range(101))
    sheet = Image.open(tmp_path / "set" / "contact_sheet.png")
    assert sheet.height > sheet.width / 3  # wrapped into rows, not one strip 101 images long


def test_png_pixels_are_the_rounded_images(tmp_path, result, model):
    write_set(tmp_path / "set", result, model)
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    for step, image_file in zip(table["step"], table["image_file"]):
        written = np.asarray(Image.open(tmp_path / "set" / image_file))
        expected = np.round(result["images"][step] * 255).astype(np.uint8)
        np.testing.assert_array_equal(written, expected)


def test_grey_images_are_written_as_grey(tmp_path):
    grey = LinearModel(channels=1)
    result = continuum(grey, np.zeros((8, 8)), np.ones((8, 8)), n_steps=3)
    write_set(tmp_path / "set", result, grey)
    image = Image.open(tmp_path / "set" / "images" / "step_01_morph_0.500.png")
    assert image.mode == "L"
    assert np.asarray(image).max() == 128  # 0.5 * 255 = 127.5 rounds to even: 128


def test_table_is_ready_for_psychopy(tmp_path, result, model, sources):
    write_set(tmp_path / "set", result, model)
    path = tmp_path / "set" / "stimuli.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        raw = list(csv.reader(handle))
    header = raw[0]
    assert header == ["image_file", "step", "morph_level", "distance_pixel", "source_a", "prepared_a", "source_b",
                      "prepared_b", "model", "mean_luminance", "rms_contrast"]
    assert len(set(header)) == len(header) and all(HEADER.match(name) for name in header)
    assert len(raw) == 12
    assert raw[4][2] == "0.3"  # morph levels are written as short exact decimals

    table = pd.read_csv(path)
    assert pd.api.types.is_integer_dtype(table["step"])
    assert pd.api.types.is_float_dtype(table["morph_level"])
    for column in ("image_file", "source_a", "source_b", "model"):
        assert pd.api.types.is_string_dtype(table[column]) or table[column].dtype == object
        assert all(isinstance(value, str) for value in table[column])
    assert table["step"].tolist() == list(range(11))
    np.testing.assert_allclose(table["morph_level"], np.linspace(0, 1, 11))
    # The set's own copies, relative to the table: a Builder user can show $source_a.
    assert set(table["source_a"]) == {"sources/given/a_face_a.png"}
    assert set(table["source_b"]) == {"sources/given/b_007.png"}
    for column in ("source_a", "source_b"):
        given = sources[0] if column == "source_a" else sources[1]
        assert (tmp_path / "set" / table[column][0]).read_bytes() == open(given, "rb").read()
    for column in ("prepared_a", "prepared_b"):
        assert np.asarray(Image.open(tmp_path / "set" / table[column][0])).shape == (8, 8, 3)
    assert set(table["model"]) == {"default"}
    for image_file in table["image_file"]:
        assert "\\" not in image_file and not os.path.isabs(image_file)
        assert image_file.startswith("images/")
        assert os.path.isfile(tmp_path / "set" / image_file)


def test_manifest_records_everything(tmp_path, result, model, sources):
    out = tmp_path / "set"
    write_set(out, result, model)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {
        "format", "format_version", "kind", "gaia_stim_version", "created_utc", "model",
        "parameters", "inputs", "n_images", "image_shape", "image_encoding", "table",
        "contact_sheet", "images", "environment",
    } <= set(manifest)
    assert manifest["kind"] == "continuum"
    assert manifest["gaia_stim_version"] == __version__
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", manifest["created_utc"])
    assert manifest["model"]["name"] == "default"
    assert manifest["model"]["file_sha256"] == model.file_sha256
    assert manifest["model"]["preset"] == "tiny"
    assert manifest["model"]["trained_with_gaia_stim"] == "0.1.0"
    assert manifest["model"]["latent_dim"] == model.latent_dim
    parameters = manifest["parameters"]
    assert parameters["n_steps"] == 11 and parameters["method"] == "linear"
    assert parameters["source_a"] == sources[0] and parameters["source_b"] == sources[1]
    assert parameters["morph_levels"] == [step / 10 for step in range(11)]
    assert "seed" in parameters
    assert [entry["sha256"] for entry in manifest["inputs"]] == [sha256(path) for path in sources]
    assert manifest["inputs"][0]["changes"] == ["resized 16x16 to 8x8"]
    assert manifest["n_images"] == 11 and manifest["image_shape"] == [8, 8, 3]
    assert len(manifest["images"]) == 11
    for entry in manifest["images"]:
        assert entry["sha256"] == sha256(out / entry["file"])
    assert manifest["table"]["sha256"] == sha256(out / "stimuli.csv")
    assert manifest["table"]["columns"]["step"] == "int"
    assert manifest["contact_sheet"]["sha256"] == sha256(out / "contact_sheet.png")
    assert {"python", "numpy", "pillow"} <= set(manifest["environment"])


def test_torch_version_only_when_already_imported(tmp_path, result, model, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    write_set(tmp_path / "without", result, model)
    manifest = json.loads((tmp_path / "without" / "manifest.json").read_text())
    assert "torch" not in manifest["environment"]
    assert "torch" not in sys.modules  # writing a set never imports torch

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__="9.9.9"))
    write_set(tmp_path / "with", result, model)
    manifest = json.loads((tmp_path / "with" / "manifest.json").read_text())
    assert manifest["environment"]["torch"] == "9.9.9"


def test_array_sources_and_numeric_looking_names(tmp_path, model):
    extensionless = tmp_path / "123"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(extensionless, format="PNG")
    result = continuum(model, np.ones((8, 8, 3)), str(extensionless), n_steps=2)
    write_set(tmp_path / "set", result, model)
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    assert table["source_a"].tolist() == ["sources/given/a_array.npy"] * 2
    assert table["source_b"].tolist() == ["sources/given/b_123"] * 2
    np.testing.assert_array_equal(np.load(tmp_path / "set" / "sources" / "given" / "a_array.npy"), np.ones((8, 8, 3)))
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["inputs"][0]["source"] == "array"
    assert len(manifest["inputs"][0]["sha256"]) == 64
    assert manifest["inputs"][1]["sha256"] == sha256(extensionless)


def test_contact_sheet_rows_and_size(tmp_path, result, model):
    write_set(tmp_path / "set", result, model)
    sheet = Image.open(tmp_path / "set" / "contact_sheet.png")
    assert sheet.mode == "RGB"
    # 11 steps fit one row under the row of sources; 8 px images are enlarged (to 96 px) so labels
    # and pixels are legible.
    assert sheet.width > 11 * 96 and 2 * 96 < sheet.height < 2 * (96 + 100)


def tile_at(sheet, row_top, column, size=96, margin=10, gap=8, title=26):
    left, top = margin + column * (size + gap), row_top + margin + title
    return np.asarray(sheet.convert("RGB"))[top : top + size, left : left + size]


def test_contact_sheet_shows_each_source_as_given_and_through_the_model(tmp_path, sources):
    from gaia_stim.core.images import display_pixels

    model = BlurringModel()
    result = continuum(model, *sources, n_steps=11)
    write_set(tmp_path / "set", result, model)
    sheet = Image.open(tmp_path / "set" / "contact_sheet.png")
    for index, source in enumerate(result["sources"]):
        given = (np.round(display_pixels(source["given"], 8) * 255)).astype(np.uint8)
        drawn = (np.round(source["reconstruction"] * 255)).astype(np.uint8)
        # whole-pixel enlargement from 8 to 96 px: each pixel is a 12 x 12 block
        np.testing.assert_array_equal(tile_at(sheet, 0, 2 * index)[::12, ::12], given)
        np.testing.assert_array_equal(tile_at(sheet, 0, 2 * index + 1)[::12, ::12], drawn)
        assert source["reconstruction_ssim"] < 0.2  # random pixels against their mean colour
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["contact_sheet"]["source_band"] is True
    assert [record["reconstruction_ssim"] for record in manifest["inputs"]] == [
        round(source["reconstruction_ssim"], 4) for source in result["sources"]]
    # a faithful model reconstructs its sources exactly
    faithful = continuum(LinearModel(), *sources, n_steps=3)
    assert [source["reconstruction_ssim"] for source in faithful["sources"]] == pytest.approx([1.0, 1.0])


def test_commands_report_each_source_s_reconstruction_and_warn_when_far(tmp_path, sources, capsys):
    from gaia_stim.cli._stimuli import write

    options = dict(out_dir=str(tmp_path / "far"), force=False)
    write(continuum(BlurringModel(), *sources, n_steps=3), BlurringModel(), options, None, None, "unused")
    captured = capsys.readouterr()
    assert captured.out.count("the model reconstructs it with SSIM") == 2
    assert captured.err.count("is far outside what this model reconstructs well") == 2
    options = dict(out_dir=str(tmp_path / "near"), force=False)
    write(continuum(LinearModel(), *sources, n_steps=3), LinearModel(), options, None, None, "unused")
    captured = capsys.readouterr()
    assert "SSIM 1.000" in captured.out and "far outside" not in captured.err


# ------------------------------------------------------------------------------------------
# cells and table validation


@pytest.mark.parametrize(
    "text, non_text",
    [
        ("007", True), ("1.5", True), ("1e5", True), ("-2", True), ("inf", True), ("NaN", True),
        ("NA", True), ("null", True), ("", True), ("True", True), ("false", True), (" 12 ", True),
        ("007.png", False), ("face_a.png", False), ("array", False), ("1.5.png", False),
        ("default", False), ("runs/r1/model.pt", False),
    ],
)
def test_looks_like_non_text(text, non_text):
    assert looks_like_non_text(text) is non_text
    assert not looks_like_non_text(text_cell(text))


def _rows(n=2, **extra):
    return [
        dict({"image_file": f"images/img_{index}.png", "level": index / 2}, **extra) for index in range(n)
    ]


@pytest.mark.parametrize(
    "rows, match",
    [
        ([{"image_file": "a.png", "1bad": 1}, {"image_file": "b.png", "1bad": 2}], "column name"),
        ([{"image_file": "a.png", "x-y": 1}, {"image_file": "b.png", "x-y": 2}], "column name"),
        ([{"image_file": "a.png", "x": 1}, {"image_file": "b.png", "x": 2.5}], "one type"),
        ([{"image_file": "a.png", "x": "a"}, {"image_file": "b.png", "x": 2}], "one type"),
        ([{"image_file": "a.png", "x": "007"}, {"image_file": "b.png", "x": "b"}], "text_cell"),
        ([{"image_file": "a.png", "x": float("nan")}, {"image_file": "b.png", "x": 1.0}], "finite"),
        ([{"image_file": "a.png", "x": None}, {"image_file": "b.png", "x": None}], "cells must be"),
        ([{"image_file": "a.png", "x": 1}, {"image_file": "b.png", "y": 1}], "same order"),
        ([{"image_file": "a.png"}, {"image_file": "a.png"}], "unique"),
        ([{"image_file": "images\\a.png"}, {"image_file": "b.png"}], "forward slashes"),
        ([{"image_file": "/tmp/a.png"}, {"image_file": "b.png"}], "relative"),
        ([{"image_file": "../a.png"}, {"image_file": "b.png"}], "relative"),
        ([{"image_file": "a.jpg"}, {"image_file": "b.png"}], ".png"),
        ([{"image_file": "stimuli.csv"}, {"image_file": "b.png"}], "relative"),
        ([{"file": "a.png"}, {"file": "b.png"}], "image_file"),
        (_rows(3), "2 images but 3 rows"),
    ],
)
def test_bad_tables_are_refused(tmp_path, model, rows, match):
    images = np.zeros((2, 8, 8, 3), dtype=np.float32)
    with pytest.raises(InputError, match=re.escape(match)):
        write_stimulus_set(tmp_path / "set", images, rows, {}, model)
    assert os.listdir(tmp_path) == []


def test_general_writer_with_other_columns(tmp_path, model):
    images = np.random.default_rng(1).random((4, 8, 8, 3)).astype(np.float32)
    rows = [
        {"image_file": f"cells/row_{r}_col_{c}.png", "row": r, "col": c, "is_anchor": r == c,
         "label": f"r{r}c{c}"}
        for r in range(2) for c in range(2)
    ]
    write_stimulus_set(
        tmp_path / "grid", images, rows, {"seed": 5, "grid": [2, 2]}, model, kind="grid",
        labels=["a", "b", "c", "d"], sheet_columns=2,
    )
    table = pd.read_csv(tmp_path / "grid" / "stimuli.csv")
    assert table.columns.tolist() == ["image_file", "row", "col", "is_anchor", "label", "mean_luminance", "rms_contrast"]
    assert pd.api.types.is_bool_dtype(table["is_anchor"])
    manifest = json.loads((tmp_path / "grid" / "manifest.json").read_text())
    assert manifest["parameters"] == {"seed": 5, "grid": [2, 2]}
    assert manifest["kind"] == "grid"


# ------------------------------------------------------------------------------------------
# atomic writing


def test_existing_folder_is_refused(tmp_path, result, model):
    out = tmp_path / "set"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="--force"):
        write_set(out, result, model)
    assert os.listdir(out) == ["keep.txt"]
    assert hidden_entries(tmp_path) == []


def test_force_replaces_a_set(tmp_path, result, model):
    out = tmp_path / "set"
    write_set(out, result, model)
    short = continuum(model, np.zeros((8, 8, 3)), np.ones((8, 8, 3)), n_steps=3)
    write_set(out, short, model, force=True)
    assert len(os.listdir(out / "images")) == 3
    assert json.loads((out / "manifest.json").read_text())["n_images"] == 3
    assert hidden_entries(tmp_path) == []


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda out: (out / "notes.txt").write_text("my notes"), "did not write .notes.txt"),
        (lambda out: (out / "images" / "mine.png").write_bytes(b"x"), "did not write .images/mine.png"),
        (lambda out: (out / "extra").mkdir(), "did not write .extra/"),
        (lambda out: (out / "stimuli.csv").write_text("edited"), "stimuli.csv changed after gaia-stim wrote it"),
        (lambda out: (out / "manifest.json").write_text('{"format": "my lab manifest"}'), "not gaia-stim's"),
        (lambda out: (out / "manifest.json").write_text("not json"), "not gaia-stim's"),
    ],
)
def test_force_never_deletes_what_gaia_stim_did_not_write(tmp_path, result, model, change, match):
    out = tmp_path / "set"
    write_set(out, result, model)
    change(out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(OutputExistsError, match=match):
        write_set(out, result, model, force=True)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert hidden_entries(tmp_path) == []


def test_force_never_replaces_a_folder_that_is_not_a_set(tmp_path, result, model):
    out = tmp_path / "project"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputExistsError, match="not a gaia-stim stimulus set"):
        write_set(out, result, model, force=True)
    assert os.listdir(out) == ["thesis.tex"]
    file_out = tmp_path / "a_file"
    file_out.write_text("x")
    with pytest.raises(OutputExistsError, match="not a folder"):
        write_set(file_out, result, model, force=True)


def test_force_replaces_an_empty_folder(tmp_path, result, model):
    (tmp_path / "set").mkdir()
    write_set(tmp_path / "set", result, model, force=True)
    assert (tmp_path / "set" / "manifest.json").is_file()


def _fail(*args, **kwargs):
    raise RuntimeError("disk full (simulated)")


def test_failure_midway_leaves_nothing(tmp_path, result, model, monkeypatch):
    monkeypatch.setattr(stimulus_sets, "contact_sheet", _fail)
    with pytest.raises(RuntimeError, match="simulated"):
        write_set(tmp_path / "set", result, model)
    assert os.listdir(tmp_path) == []


def test_failure_midway_with_force_keeps_the_old_set(tmp_path, result, model, monkeypatch):
    out = tmp_path / "set"
    write_set(out, result, model)
    before = {name: sha256(out / "images" / name) for name in os.listdir(out / "images")}
    manifest_before = (out / "manifest.json").read_bytes()
    monkeypatch.setattr(stimulus_sets, "save_png", _fail)
    with pytest.raises(RuntimeError, match="simulated"):
        write_set(out, result, model, force=True)
    assert {name: sha256(out / "images" / name) for name in os.listdir(out / "images")} == before
    assert (out / "manifest.json").read_bytes() == manifest_before
    assert os.listdir(tmp_path) == ["set"]


def test_failed_final_rename_restores_the_old_set(tmp_path, result, model, monkeypatch):
    # where the system cannot exchange two folders atomically, the old one is set aside first
    out = tmp_path / "set"
    write_set(out, result, model)
    manifest_before = (out / "manifest.json").read_bytes()
    real_rename = os.rename

    def rename(source, target):
        if "gaia-stim-tmp-" in os.path.basename(source):
            raise OSError("rename failed (simulated)")
        return real_rename(source, target)

    monkeypatch.setattr(output_folders, "_exchange", lambda first, second: False)
    monkeypatch.setattr(output_folders.os, "rename", rename)
    with pytest.raises(OSError, match="simulated"):
        write_set(out, result, model, force=True)
    assert (out / "manifest.json").read_bytes() == manifest_before
    assert os.listdir(tmp_path) == ["set"]


def test_missing_parent_is_created(tmp_path, result, model):
    write_set(tmp_path / "a" / "b" / "set", result, model)
    assert (tmp_path / "a" / "b" / "set" / "stimuli.csv").is_file()


# ------------------------------------------------------------------------------------------
# determinism


def test_same_inputs_give_identical_files(tmp_path, model, sources):
    first = continuum(model, *sources, n_steps=7)
    second = continuum(model, *sources, n_steps=7)
    write_set(tmp_path / "one", first, model)
    write_set(tmp_path / "two", second, model)
    files = []
    for root, _, names in os.walk(tmp_path / "one"):
        files += [os.path.relpath(os.path.join(root, name), tmp_path / "one") for name in names]
    assert len(files) == 7 + 3 + 4  # images, table, manifest, sheet, 2 sources as given and as prepared
    for name in files:
        if name != "manifest.json":
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    manifest_one = json.loads((tmp_path / "one" / "manifest.json").read_text())
    manifest_two = json.loads((tmp_path / "two" / "manifest.json").read_text())
    manifest_one.pop("created_utc"), manifest_two.pop("created_utc")
    assert manifest_one == manifest_two


def test_a_source_whose_name_holds_a_newline_is_shown_on_one_line(tmp_path, model):
    path = tmp_path / "two\nlines.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)
    other = tmp_path / "b.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(other)
    write_set(tmp_path / "set", continuum(model, str(path), str(other), n_steps=3), model)
    assert (tmp_path / "set" / "contact_sheet.png").exists()


def test_the_table_luminance_of_a_colour_image_is_bt601(tmp_path):
    # BT.601 luma (0.299 R + 0.587 G + 0.114 B), as Pillow's "L" conversion computes it
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (100, 150, 200)]
    images = np.stack([np.full((4, 4, 3), colour, dtype=np.uint8) for colour in colours])
    rows = [{"image_file": f"images/c{i}.png", "step": i} for i in range(len(colours))]
    write_stimulus_set(tmp_path / "set", images, rows, {}, types.SimpleNamespace(name="t"))
    table = pd.read_csv(tmp_path / "set" / "stimuli.csv")
    by_hand = [0.299, 0.587, 0.114, (0.299 * 100 + 0.587 * 150 + 0.114 * 200) / 255]
    np.testing.assert_allclose(table["mean_luminance"], by_hand, atol=1e-12)
    pillow = [np.asarray(Image.fromarray(image).convert("L")).mean() / 255 for image in images]
    np.testing.assert_allclose(table["mean_luminance"], pillow, atol=0.5 / 255)
    assert np.all(table["rms_contrast"] == 0.0)


def test_array_sha256_covers_dtype_shape_and_bytes():
    from gaia_stim.io.images import array_sha256

    data = np.arange(6, dtype=np.uint8)
    variants = [data.reshape(2, 3), data.reshape(3, 2), data.reshape(6, 1), data.astype(np.int8).reshape(2, 3),
                data.reshape(2, 3)[::-1]]
    assert len({array_sha256(array) for array in variants}) == len(variants)
    # the C-order bytes: the same array in Fortran order is the same input
    assert array_sha256(np.asfortranarray(data.reshape(2, 3))) == array_sha256(data.reshape(2, 3))
    assert array_sha256(data.reshape(2, 3)) == hashlib.sha256(b"|u1(2, 3)" + data.tobytes()).hexdigest()


def test_float_cells_read_back_as_the_same_numbers(tmp_path):
    values = [1 / 3, 0.1, 2 / 7 * 1e-7, 123456.789012345, 1.0]
    images = np.zeros((len(values), 4, 4, 1), dtype=np.uint8)
    rows = [{"image_file": f"images/v{i}.png", "morph_level": value} for i, value in enumerate(values)]
    write_stimulus_set(tmp_path / "set", images, rows, {}, types.SimpleNamespace(name="t"))
    with open(tmp_path / "set" / "stimuli.csv", newline="") as handle:
        cells = [row["morph_level"] for row in csv.DictReader(handle)]
    assert [float(cell) for cell in cells] == values
    assert cells[-1] == "1.0"  # a whole number in a float column is still written as a float


# ------------------------------------------------------------------------------------------
# verify: a written set checks its own files (the squaring stand-in's small set, ``written``)


@pytest.fixture
def squaring_model():
    """The stand-in that wrote ``written`` (conftest.py), for the tests that rebuild it."""
    return SquaringModel()


def test_every_path_in_the_table_resolves_relative_to_it(written):
    table = pd.read_csv(written / "stimuli.csv")
    for column in ("image_file", "source_a", "source_b", "prepared_a", "prepared_b"):
        for path in table[column]:
            assert not os.path.isabs(path) and (written / path).is_file(), (column, path)
    assert (written / table["source_a"][0]).read_bytes() == (written.parent / "a.png").read_bytes()
    assert np.asarray(Image.open(written / table["prepared_a"][0])).shape == (16, 16)


def test_folders_follow_the_umask(tmp_path, squaring_model):
    old = os.umask(0o022)
    try:
        write_set(tmp_path / "set", continuum(squaring_model, flat(0.1), flat(0.9), n_steps=2), squaring_model)
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
def test_a_damaged_or_edited_manifest_is_one_clear_error(written, squaring_model, edit, says):
    from gaia_stim.core.errors import DataError

    manifest = json.loads((written / "manifest.json").read_text())
    edit(manifest)
    (written / "manifest.json").write_text(json.dumps(manifest))
    for check in (lambda: verify_set(written), lambda: regenerate_set(written, model=squaring_model)):
        with pytest.raises(DataError, match=says):
            check()
