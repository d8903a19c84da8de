"""gaia-stim axes fit and gaia-stim attribute with the shipped model, on faces from gaia-stim faces."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import gaia_stim
from gaia_stim.cli import main
from gaia_stim.datasets import PARAMETERS
from gaia_stim.stimuli.axes import load_axes


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A face folder written by 'gaia-stim faces' and axes fitted on its attributes.csv as it is."""
    folder = tmp_path_factory.mktemp("axes")
    runner = CliRunner()
    result = runner.invoke(main, ["faces", "--n", "60", "--size", "64", "--seed", "3", "--out", str(folder / "faces")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["axes", "fit", "--images", str(folder / "faces"), "--labels",
                                  str(folder / "faces" / "attributes.csv"), "--out", str(folder / "axes.npz")])
    return folder, result


def attribute(folder, out, *extra):
    return CliRunner().invoke(main, ["attribute", "--axes", str(folder / "axes.npz"), "--axis", "skin_tone",
                                     "--image", str(folder / "faces" / "face_00007.png"), "--range", "-0.3", "0.3",
                                     "--steps", "4", "--out", str(folder / out), *extra])


def test_axes_fit_reads_the_faces_table_as_it_is_and_prints_r2(fitted):
    folder, result = fitted
    assert result.exit_code == 0, result.output
    assert "left out: face_id" in result.output
    printed = {line.split()[0]: float(line.split()[1]) for line in result.output.splitlines()
               if line.split() and line.split()[0] in PARAMETERS}
    assert list(printed) == list(PARAMETERS)
    model = gaia_stim.load_model("default")
    axes = load_axes(folder / "axes.npz", model_sha256=model.file_sha256)
    np.testing.assert_allclose([printed[name] for name in PARAMETERS], axes.r2_, atol=5e-4)
    # skin colour is the plainest thing in the images: the codes carry it even from 60 faces
    assert printed["skin_tone"] > 0.8
    assert "60 images for 16 attributes" in result.output  # the warning about few images


def test_attribute_writes_the_moved_codes_as_a_stimulus_set_with_readouts(fitted):
    folder, _ = fitted
    result = attribute(folder, "set", "--orthogonal-to", "hair_darkness", "--orthogonal-to", "head_width",
                       "--corrections", "0")
    assert result.exit_code == 0, result.output
    model = gaia_stim.load_model("default")
    axes = load_axes(folder / "axes.npz")
    table = pd.read_csv(folder / "set" / "stimuli.csv")
    np.testing.assert_allclose(table["amount"], [-0.3, -0.1, 0.1, 0.3])
    # the set holds its source as given and as prepared, and the table's paths resolve beside it
    given = (folder / "faces" / "face_00007.png").read_bytes()
    assert set(table["source_a"]) == {"sources/given/a_face_00007.png"}
    assert (folder / "set" / table["source_a"][0]).read_bytes() == given
    assert Image.open(folder / "set" / table["prepared_a"][0]).size == (64, 64)
    verified = CliRunner().invoke(main, ["verify", str(folder / "set")])
    assert verified.exit_code == 0, verified.output
    # each image is the decoded code of the source moved by amount * the orthogonalised direction
    start = model.encode(str(folder / "faces" / "face_00007.png"))[0]
    direction = axes.direction("skin_tone", orthogonal_to=["hair_darkness", "head_width"])
    expected = model.decode((start + np.outer(table["amount"], direction)).astype(np.float32))
    for row, image in zip(table.itertuples(), expected):
        written = np.asarray(Image.open(folder / "set" / row.image_file), dtype=np.float64) / 255
        assert np.abs(written - image).max() <= 0.5 / 255 + 1e-6
    # per-image read-outs: the re-encoded images through the axes' linear read-out
    readout = axes.transform(model.encode(expected))
    np.testing.assert_allclose(table[[f"readout_{n}" for n in PARAMETERS]], readout, atol=1e-4)
    assert {f"measured_{n}" for n in PARAMETERS} <= set(table.columns)
    # the leakage table's slopes are the least-squares slopes of those columns against the amount
    leakage = pd.read_csv(folder / "set.leakage.csv")
    for source, prefix in (("readout", "readout_"), ("face_estimator", "measured_")):
        rows = leakage[leakage["source"] == source].set_index("attribute")
        assert list(rows.index) == list(PARAMETERS)
        for name in PARAMETERS:
            slope = np.polyfit(table["amount"], table[prefix + name], 1)[0]
            assert rows.loc[name, "slope"] == pytest.approx(slope, abs=1e-4)
            assert rows.loc[name, "change_over_range"] == pytest.approx(0.6 * slope, abs=1e-4)
        assert rows["manipulated"].sum() == 1 and bool(rows.loc["skin_tone", "manipulated"])
    manifest = json.loads((folder / "set" / "manifest.json").read_text())
    assert manifest["kind"] == "attribute series"
    assert manifest["parameters"]["orthogonal_to"] == ["hair_darkness", "head_width"]
    assert len(manifest["parameters"]["leakage"]) == 32
    assert Image.open(folder / "set.leakage.png").size[0] > 600
    assert "largest other change" in result.output


def test_corrections_steer_each_step_until_only_its_attribute_is_read_to_move(fitted):
    """Two corrections: each image is the decode of its corrected code, and leaks less than the line."""
    from gaia_stim.stimuli.axes import correct_codes, held_attributes, image_readout

    folder, _ = fitted
    model = gaia_stim.load_model("default")
    axes = load_axes(folder / "axes.npz")
    start = model.encode(str(folder / "faces" / "face_00007.png"))
    # the face's skin tone as the model's read-out gives it, and the labelled faces' range
    base = image_readout(axes, model, start)[PARAMETERS.index("skin_tone")]
    low, high = axes.attribute_range_[PARAMETERS.index("skin_tone")]
    assert low < base < high < base + 0.3  # +0.3 asks for a skin darker than any of the 60 labelled faces
    for out, corrections in (("line", "0"), ("steered", "2")):
        result = attribute(folder, out, "--orthogonal-to", "all", "--corrections", corrections)
        assert result.exit_code == 0, result.output
        # corrections stop at the labels' range, and say so; the straight line goes on past it
        assert (f"Warning: 'skin_tone': asked for {base + 0.3:.3g}, past the labelled images' range"
                f" ({low:.3g} to {high:.3g})" in result.output) == (corrections == "2")
    manifest = json.loads((folder / "steered" / "manifest.json").read_text())
    assert manifest["parameters"]["corrections"] == 2
    table, line = (pd.read_csv(folder / out / "stimuli.csv") for out in ("steered", "line"))
    amounts = table["amount"].to_numpy()
    asked = np.zeros((len(amounts), len(PARAMETERS)))
    asked[:, PARAMETERS.index("skin_tone")] = amounts
    codes = correct_codes(axes, model, start, start + np.outer(amounts, axes.direction("skin_tone", "all")), asked, 2)
    for row, image in zip(table.itertuples(), model.decode(codes.astype(np.float32))):
        written = np.asarray(Image.open(folder / "steered" / row.image_file), dtype=np.float64) / 255
        assert np.abs(written - image).max() <= 0.5 / 255 + 1e-6
    # what the read-out of the written images says moved, over the range: skin tone about as asked (0.6)
    # within the labelled range (the part of -0.3 .. +0.3 around the face's read-out that the labels
    # reach), the other attributes the model carries far less than along the straight line
    within = min(base + 0.3, high) - max(base - 0.3, low)
    assert 0.3 < within < 0.6
    held = [name for name, keep in zip(PARAMETERS, held_attributes(axes)) if keep]
    others = [name for name in held if name != "skin_tone"]

    def change(frame, name):
        return abs(np.polyfit(frame["amount"], frame[f"readout_{name}"], 1)[0]) * 0.6

    # (axes from 60 faces: measured 0.507 steered and 0.65 on the line, which goes on past the range)
    assert change(table, "skin_tone") == pytest.approx(within, rel=0.15)
    leaked, leaked_line = (sum(change(frame, name) for name in others) for frame in (table, line))
    assert leaked < 0.5 * leaked_line, (leaked, leaked_line)


def test_the_same_command_writes_the_same_bytes(fitted):
    folder, _ = fitted
    for out in ("again_a", "again_b"):
        assert attribute(folder, out).exit_code == 0
    for name in ("stimuli.csv", "contact_sheet.png"):
        assert (folder / "again_a" / name).read_bytes() == (folder / "again_b" / name).read_bytes()
    for suffix in (".leakage.csv", ".leakage.png"):
        assert (folder / ("again_a" + suffix)).read_bytes() == (folder / ("again_b" + suffix)).read_bytes()


def test_an_existing_report_is_kept_without_force_and_replaced_with_it_only_if_gaia_stim_wrote_it(fitted):
    folder, _ = fitted
    assert attribute(folder, "kept").exit_code == 0
    written = (folder / "kept.leakage.csv").read_bytes()
    result = attribute(folder, "kept")
    assert result.exit_code == 1 and "kept.leakage.csv" in result.output and "--force" in result.output
    assert attribute(folder, "kept", "--force").exit_code == 0  # its own report, unchanged: replaced
    assert (folder / "kept.leakage.csv").read_bytes() == written
    (folder / "kept.leakage.csv").write_text("mine")  # edited by hand (or a user's file of that name)
    refused = attribute(folder, "kept", "--force")
    assert refused.exit_code == 1 and "changed since" in refused.output
    assert (folder / "kept.leakage.csv").read_text() == "mine"
    (folder / "theirs.leakage.csv").write_text("a user's own table")  # beside no set at all
    assert attribute(folder, "theirs", "--force").exit_code == 1
    assert (folder / "theirs.leakage.csv").read_text() == "a user's own table" and not (folder / "theirs").exists()


def test_axes_fit_force_replaces_only_an_axes_file_it_wrote(fitted):
    folder, _ = fitted
    labels = folder / "faces" / "attributes.csv"
    before = labels.read_bytes()

    def fit(out):
        return CliRunner().invoke(main, ["axes", "fit", "--images", str(folder / "faces"), "--labels", str(labels),
                                         "--out", str(out), "--force"])

    into_labels = fit(labels)  # the command's own input, inside a face set gaia-stim wrote
    assert into_labels.exit_code == 1 and "Traceback" not in into_labels.output
    assert "inputs" in into_labels.output and labels.read_bytes() == before
    theirs = folder / "theirs.npz"
    np.savez(theirs, weights=np.arange(3))
    kept = theirs.read_bytes()
    refused = fit(theirs)
    assert refused.exit_code == 1 and "not an attribute axes file that gaia-stim wrote" in refused.output
    assert theirs.read_bytes() == kept
    assert fit(folder / "axes.npz").exit_code == 0  # its own axes file is replaced
