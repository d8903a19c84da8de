"""The stimulus-result contract: what every kind returns, what the one writer checks, what regeneration rebuilds.

A stand-in model keeps these fast (tests/conftest.py). Sets are rebuilt through the command
``gaia-stim verify --regenerate --model FILE``, whose model loader is pointed at the stand-in.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import SquaringModel, hand_made_axes
from gaia_stim import stimuli
from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.io.results import StimulusResult
from gaia_stim.io.sets import write_set
from gaia_stim.stimuli import attribute_set, continuum, grid, mean_image, wheel
from gaia_stim.stimuli._common import decode, encode_sources, prepare_sources
from gaia_stim.stimuli.axes import save_axes
from gaia_stim.stimuli.regenerate import regenerate_set

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def noise(seed, size=16):
    return np.random.default_rng(seed).random((size, size, 1)).astype(np.float32)


def write_png(path, array):
    Image.fromarray(np.round(array[..., 0] * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def model():
    return SquaringModel()


@pytest.fixture
def cli_model(monkeypatch, tmp_path, model):
    """``--model tmp/stand_in.pt`` loads the stand-in (its sha256 is what the sets record)."""
    import gaia_stim.api

    (tmp_path / "stand_in.pt").write_bytes(b"a stand-in")
    monkeypatch.setattr(gaia_stim.api, "load_model", lambda path, device="cpu": model)
    return str(tmp_path / "stand_in.pt")


def verify(folder, model_file, *extra):
    return CliRunner().invoke(main, ["verify", str(folder), "--regenerate", "--model", model_file, *extra])


def set_files(folder):
    """{relative path: bytes} of every file of a set but its manifest."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if name != "manifest.json":
                files[os.path.relpath(path, folder)] = open(path, "rb").read()
    return files


# ------------------------------------------------------------------------------------------
# the writer checks the contract


@pytest.mark.parametrize("change, field", [
    (lambda result: dict(labels=result.labels[:3]), "StimulusResult.labels"),
    (lambda result: dict(rows=result.rows + [{"step": 4}]), "StimulusResult.rows"),
    (lambda result: dict(latents=result.latents[:2]), "StimulusResult.latents"),
    (lambda result: dict(kind="collage"), "StimulusResult.kind"),
    (lambda result: dict(parameters={**result.parameters, "when": object()}), "StimulusResult.parameters['when']"),
    (lambda result: dict(parameters={**result.parameters, "ratio": float("nan")}), "StimulusResult.parameters['ratio']"),
    (lambda result: dict(summary={"model": SquaringModel()}), "StimulusResult.summary['model']"),
    (lambda result: dict(sources=[{"role": "a"}]), "StimulusResult.sources[0]"),
])
def test_the_writer_refuses_a_malformed_result_naming_the_field(tmp_path, model, change, field):
    result = continuum(model, noise(1), noise(2), n_steps=4)
    broken = dataclasses.replace(result, **change(result))
    with pytest.raises(InputError) as raised:
        write_set(tmp_path / "set", broken, model)
    assert field in str(raised.value)
    assert not (tmp_path / "set").exists()
    write_set(tmp_path / "set", result, model)  # the same result, unbroken, is written
    assert (tmp_path / "set" / "manifest.json").is_file()


def test_the_writer_writes_only_stimulus_results(tmp_path, model):
    result = continuum(model, noise(1), noise(2), n_steps=3)
    as_dict = {name: result[name] for name in ("kind", "images", "rows", "file_names", "labels", "parameters",
                                                 "sources", "caption")}
    with pytest.raises(InputError, match="write_set writes a StimulusResult"):
        write_set(tmp_path / "set", as_dict, model)
    assert not (tmp_path / "set").exists()


def test_a_result_reads_like_the_dict_it_replaces(model):
    result = continuum(model, noise(1), noise(2), n_steps=3)
    assert result["images"] is result.images and result["kind"] == "continuum"
    np.testing.assert_array_equal(result["morph_levels"], [0.0, 0.5, 1.0])  # a detail of the kind
    assert result.get("sheet_columns") is None and result.get("radius", 7) == 7
    assert "morph_levels" in result and "radius" not in result
    with pytest.raises(KeyError, match="radius"):
        result["radius"]
    with pytest.raises(TypeError):
        result.details["morph_levels"] = None  # what a kind made is read, never changed
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kind = "grid"


# ------------------------------------------------------------------------------------------
# a kind is one module and one registry line


def _scaled_result(model, images, factors):
    """A throwaway kind: each source's code scaled by each factor."""
    sources = prepare_sources(model, images, 1, "a scaled set")
    codes = encode_sources(model, sources)
    latents, decoded = decode(model, np.concatenate([codes * factor for factor in factors]))
    n = len(decoded)
    return StimulusResult(
        kind="scaled", images=decoded, latents=latents,
        rows=[{"index": i, "factor": float(factors[i % len(factors)])} for i in range(n)],
        file_names=[f"scaled_{i:02d}.png" for i in range(n)], labels=[f"x{factor:g}" for factor in factors] * len(sources),
        caption="codes scaled", parameters={"factors": [float(factor) for factor in factors], "seed": None},
        sources=sources,
    )


def test_a_new_kind_is_written_by_the_one_writer_and_regenerated(tmp_path, model, cli_model, monkeypatch):
    kind = types.SimpleNamespace(from_parameters=lambda model, sources, parameters: _scaled_result(
        model, sources, parameters["factors"]))
    with pytest.raises(InputError, match="'scaled' is not a registered kind"):
        write_set(tmp_path / "refused", _scaled_result(model, [noise(1)], [0.5, 1.0]), model)
    monkeypatch.setitem(stimuli.KINDS, "scaled", kind)  # the one line a new kind adds
    path = write_png(tmp_path / "a.png", noise(1))
    write_set(tmp_path / "set", _scaled_result(model, [path], [0.5, 0.75, 1.0]), model)
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["kind"] == "scaled" and manifest["parameters"]["factors"] == [0.5, 0.75, 1.0]
    # the images are the decoded scaled codes, computed here from the stand-in's formulas
    code = 2 * np.sqrt(np.round(noise(1) * 255) / 255) - 1
    for index, factor in enumerate([0.5, 0.75, 1.0]):
        expected = np.clip((code * factor + 1) / 2, 0, 1) ** 2
        written = np.asarray(Image.open(tmp_path / "set" / "images" / f"scaled_{index:02d}.png"))[..., None] / 255
        assert np.abs(written - expected).max() <= 0.5 / 255 + 1e-6
    result = verify(tmp_path / "set", cli_model)
    assert result.exit_code == 0, result.output
    assert "regenerated byte for byte" in result.output
    # parameters that no longer made these images are caught
    manifest["parameters"]["factors"] = [0.5, 0.75, 0.9]
    (tmp_path / "set" / "manifest.json").write_text(json.dumps(manifest))
    result = verify(tmp_path / "set", cli_model)
    assert result.exit_code == 1 and "regenerated bytes differ" in result.output


# ------------------------------------------------------------------------------------------
# every kind regenerates byte for byte


@pytest.fixture
def axes_file(tmp_path):
    model = SquaringModel()
    return save_axes(hand_made_axes(model.latent_dim), tmp_path / "axes.npz", model.file_sha256)


@pytest.mark.parametrize("kind", ["continuum", "grid", "wheel", "mean", "attribute series"])
def test_verify_regenerate_rebuilds_every_kind_byte_for_byte(tmp_path, model, cli_model, axes_file, kind):
    paths = [write_png(tmp_path / f"{i}.png", noise(i, size=20)) for i in range(4)]
    made = {
        "continuum": lambda: continuum(model, *paths[:3], n_steps=5, spacing="equal", level_range=(-0.2, 2.1)),
        "grid": lambda: grid(model, paths, n_rows=2, n_columns=3),
        "wheel": lambda: wheel(model, *paths[:3], n_images=5),
        "mean": lambda: mean_image(model, paths),
        "attribute series": lambda: attribute_set(model, axes_file, paths[0], "contrast", [-0.5, 0.0, 0.5],
                                                  orthogonal_to="all"),
    }[kind]()
    assert made.kind == kind
    # not named "set": an attribute set's manifest records its reports by the folder's name
    write_set(tmp_path / "smile", made, model)
    result = verify(tmp_path / "smile", cli_model)
    assert result.exit_code == 0, result.output
    assert "intact and regenerated byte for byte" in result.output
    # a changed image is caught by both checks
    image = sorted((tmp_path / "smile" / "images").iterdir())[0]
    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(image)
    assert verify(tmp_path / "smile", cli_model).exit_code == 1


def test_reports_beside_a_set_are_replaced_only_when_the_set_records_them(tmp_path, model, axes_file):
    from gaia_stim.core.errors import OutputExistsError

    path = write_png(tmp_path / "face.png", noise(3))
    result = attribute_set(model, axes_file, path, "brightness", [-0.5, 0.5])
    write_set(tmp_path / "kept", result, model)
    written = (tmp_path / "kept.leakage.csv").read_bytes()
    with pytest.raises(OutputExistsError, match=r"kept\.leakage\.csv.*--force"):
        write_set(tmp_path / "kept", result, model)
    write_set(tmp_path / "kept", result, model, force=True)  # its own report, unchanged: replaced
    assert (tmp_path / "kept.leakage.csv").read_bytes() == written
    (tmp_path / "kept.leakage.csv").write_text("mine")  # edited by hand
    with pytest.raises(OutputExistsError, match="changed since"):
        write_set(tmp_path / "kept", result, model, force=True)
    assert (tmp_path / "kept.leakage.csv").read_text() == "mine"
    (tmp_path / "theirs.leakage.png").write_text("a user's own plot")  # beside no set at all
    with pytest.raises(OutputExistsError, match="theirs.leakage.png"):
        write_set(tmp_path / "theirs", result, model, force=True)
    assert (tmp_path / "theirs.leakage.png").read_text() == "a user's own plot" and not (tmp_path / "theirs").exists()
    # the axes file the series was made from is never a report's target
    axes_copy = tmp_path / "axes_input.leakage.csv"
    shutil.copyfile(axes_file, axes_copy)
    made = attribute_set(model, str(axes_copy), path, "brightness", [-0.5, 0.5])
    with pytest.raises(InputError, match="inputs"):
        write_set(tmp_path / "axes_input", made, model, force=True)


@pytest.mark.parametrize("corrections, contrast_slope", [(None, "0.25"), (2, "0")])
def test_an_attribute_set_and_its_report_are_what_the_kind_computes(tmp_path, model, axes_file, corrections,
                                                                     contrast_slope):
    pixels = noise(3)
    pixels[0, 0] = 0.25  # latent element 0 near 0, so no step is clipped
    path = write_png(tmp_path / "face.png", pixels)
    result = attribute_set(model, axes_file, path, "brightness", [-0.5, 0.0, 0.5], corrections=corrections)
    write_set(tmp_path / "set", result, model)
    # brightness moves latent element 0 by 0.5 per unit and is read from it times 2 (plus 0.5); contrast
    # reads elements 1 (times 4) and 0 (times 0.5) plus 0.25: both change along the series
    start = 2 * np.sqrt(64 / 255) - 1  # the code of the pixel as written: round(0.25 * 255) = 64
    csv = (tmp_path / "set" / "stimuli.csv").read_text().splitlines()
    header = csv[0].split(",")
    assert header[:6] == ["image_file", "step", "axis", "amount", "source_a", "prepared_a"]
    assert header[6:] == ["readout_brightness", "readout_contrast", "mean_luminance", "rms_contrast"]  # no model
    brightness = [float(line.split(",")[6]) for line in csv[1:]]
    np.testing.assert_allclose(brightness, [2 * (start + 0.5 * amount) + 0.5 for amount in (-0.5, 0.0, 0.5)],
                               atol=1e-6)
    report = (tmp_path / "set.leakage.csv").read_text().splitlines()
    assert report[0] == "attribute,source,manipulated,slope,change_over_range,change_in_sd,first,last"
    assert report[1].startswith("brightness,readout,True,1,1,2,")  # slope 1: the read-out follows the amount
    # the straight line (the default): 0.5 * 0.5 per unit leaks into contrast; corrections steer it back to 0
    # (rounded by the report's 6 significant digits: what is left is below 1e-7)
    slope = float(report[2].split(",")[3])
    assert report[2].startswith("contrast,readout,False,") and slope == pytest.approx(float(contrast_slope), abs=1e-6)
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["kind"] == "attribute series" and manifest["parameters"]["axes_file"] == axes_file
    assert manifest["parameters"]["corrections"] == (0 if corrections is None else corrections)
    import hashlib

    for name in ("set.leakage.csv", "set.leakage.png"):
        recorded = manifest["summary"]["leakage_report"][name]
        assert recorded == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()


def test_an_attribute_set_without_its_axes_file_says_so(tmp_path, model, cli_model, axes_file):
    path = write_png(tmp_path / "face.png", noise(3))
    write_set(tmp_path / "set", attribute_set(model, axes_file, path, "brightness", [-0.5, 0.5]), model)
    with open(axes_file, "ab") as stream:
        stream.write(b"edited")
    result = verify(tmp_path / "set", cli_model)
    assert result.exit_code == 1 and "has changed since" in result.output and "Traceback" not in result.output
    os.remove(axes_file)
    result = verify(tmp_path / "set", cli_model)
    assert result.exit_code == 1 and "is missing" in result.output and "axes.npz" in result.output
    assert CliRunner().invoke(main, ["verify", str(tmp_path / "set")]).exit_code == 0  # the set itself is intact
    # a set made from axes in memory records no file, so it cannot be rebuilt: one clear message
    write_set(tmp_path / "memory", attribute_set(model, hand_made_axes(model.latent_dim), path, "brightness",
                                                 [-0.5, 0.5]), model)
    with pytest.raises(DataError, match="records no axes file"):
        regenerate_set(tmp_path / "memory", model=model)


# ------------------------------------------------------------------------------------------
# sets written before the contract


@pytest.fixture
def old_attribute_set(tmp_path):
    """tests/data/attribute_set_v1 (written by the separate attribute-set writer), copied."""
    shutil.copytree(os.path.join(DATA, "attribute_set_v1"), tmp_path / "old")
    return tmp_path / "old"


def test_an_attribute_set_written_before_the_contract_verifies_and_regenerates(old_attribute_set, monkeypatch,
                                                                               tmp_path):
    model = SquaringModel(image_size=6)
    assert CliRunner().invoke(main, ["verify", str(old_attribute_set / "set")]).exit_code == 0
    # its axes file is recorded as 'axes.npz', relative to where it was made: found beside the set
    monkeypatch.chdir(tmp_path)
    assert regenerate_set(old_attribute_set / "set", model=model) == []
    # the kind makes the same files from the same inputs
    monkeypatch.chdir(old_attribute_set)
    # (made before corrections existed: it is the straight line, corrections 0)
    made = attribute_set(model, "axes.npz", "face.png", "brightness", np.linspace(-0.5, 0.5, 4),
                         orthogonal_to=["contrast"], corrections=0)
    write_set(tmp_path / "set", made, model)
    assert set_files(tmp_path / "set") == set_files(old_attribute_set / "set")
    old, new = (json.loads((folder / "manifest.json").read_text()) for folder in (old_attribute_set / "set",
                                                                                 tmp_path / "set"))
    for key in ("created_utc", "environment"):
        old.pop(key), new.pop(key)
    # sets written since record the ground they were written with; the old set predates the record
    assert "ground" not in old and new.pop("ground")["border"]["plain_share"] >= 0
    assert "corrections" not in old["parameters"] and new["parameters"].pop("corrections") == 0
    assert new == old


def test_an_old_attribute_set_without_what_regeneration_needs_gets_one_message(old_attribute_set):
    manifest_path = old_attribute_set / "set" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["parameters"]["axis"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="parameters lack 'axis'"):
        regenerate_set(old_attribute_set / "set", model=SquaringModel(image_size=6))


def test_io_sets_imports_neither_the_kinds_nor_a_model():
    code = ("import sys, gaia_stim.io.sets; print(sorted(m for m in sys.modules if m.startswith("
            "('gaia_stim.stimuli', 'gaia_stim.api', 'torch'))))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_an_attribute_set_records_the_sha256_of_its_axes_file(tmp_path, model, axes_file):
    import hashlib

    path = write_png(tmp_path / "face.png", noise(3))
    parameters = attribute_set(model, axes_file, path, "brightness", [-0.5, 0.5]).parameters
    assert parameters["axes_sha256"] == hashlib.sha256(open(axes_file, "rb").read()).hexdigest()
    assert parameters["source_sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_an_attribute_set_asking_for_more_corrections_than_the_option_allows_is_refused(old_attribute_set):
    manifest_path = old_attribute_set / "set" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["parameters"]["corrections"] = 11
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"corrections is 11, more than --corrections allows \(0 to 10\)"):
        regenerate_set(old_attribute_set / "set", model=SquaringModel(image_size=6))
