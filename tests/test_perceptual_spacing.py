"""Continua re-spaced on a measured perceptual scale, and continua that hold their sources.

- A simulated observer whose scale is known and clearly non-linear (a logistic with its boundary
  off-centre at 0.35) answers an MLDS pilot on a linear continuum; the group scale fitted from it
  re-spaces the continuum, whose steps must then be equal on the *true* scale (CV <= 5 %), where
  the linear continuum's are far from it.
- A scale measured with another model, on other sources, without a record of either, or over a
  narrower range is refused through the command line in one line, writing nothing.
- Perceptual, explicit-level and source-including continua regenerate byte for byte.
- ``--levels`` and ``--include-sources`` give exactly the levels asked for (written out by hand).
- End to end through the command line: continuum -> MLDS trial list -> simulated answers ->
  ``gaia-stim scale --stimuli`` -> ``continuum --spacing perceptual --scale`` -> ``verify --regenerate``.
"""

import csv
import hashlib
import json
import os
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import gaia_stim
from conftest import SquaringModel
from gaia_stim.analysis.mlds_model import simulate_responses
from gaia_stim.analysis.mlds_report import analyze_scale
from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.designs import read_continuum
from gaia_stim.designs.mlds_trials import mlds_trials
from gaia_stim.io.sets import write_set
from gaia_stim.stimuli._common import ExtrapolationWarning
from gaia_stim.stimuli.continua import ScaleWarning, continuum, monotone_scale, perceptual_levels
from gaia_stim.stimuli.regenerate import regenerate_set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(ROOT, "examples", "faces")


# ------------------------------------------------------------------------------------------
# the simulated observer


def true_scale(level):
    """The observer's scale: a logistic of width 0.1 with its boundary at 0.35, 0 at level 0 and 1 at 1."""
    raw = lambda x: 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - 0.35) / 0.1))  # noqa: E731
    return (raw(level) - raw(0.0)) / (raw(1.0) - raw(0.0))


def step_cv(levels):
    """Coefficient of variation (population SD / mean) of the steps between ``levels`` on the true scale."""
    steps = np.diff(true_scale(levels))
    return float(np.std(steps) / np.mean(steps))


def write_sources(folder, size=16):
    """Two grey PNGs for the stand-in model: a dark ramp and a light one."""
    ramp = np.linspace(0.1, 0.9, size)
    paths = []
    for name, image in (("a.png", np.outer(ramp, ramp)), ("b.png", np.outer(ramp[::-1], ramp) ** 0.5)):
        path = os.path.join(folder, name)
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def answer_pilot(set_dir, data_file, participants, reps, seed, sigma=0.15):
    """Every participant answers ``reps`` blocks of all triads of the set; their answers go to ``data_file``."""
    stimuli = [{"image_file": os.path.basename(s["path"]), "step": s["step"], "morph_level": s["morph_level"]}
               for s in read_continuum(set_dir)]
    rng = np.random.default_rng(seed)
    rows = []
    for participant in range(participants):
        trials = mlds_trials(stimuli, "mlds-triads", reps, rng)
        levels = np.array([[trial[f"morph_{k}"] for k in (1, 2, 3)] for trial in trials])
        answers = simulate_responses(levels, true_scale, sigma, rng)
        rows += [{"participant": f"P{participant:02d}", **trial, "chose_second_pair": int(answer)}
                 for trial, answer in zip(trials, answers)]
    with open(data_file, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# ------------------------------------------------------------------------------------------
# 1. equal steps for the observer


@pytest.fixture(scope="module")
def pilot(tmp_path_factory):
    """A linear 11-step pilot, 20 simulated participants x 6 blocks of its 165 triads, and their group scale."""
    folder = tmp_path_factory.mktemp("pilot")
    model = SquaringModel(16)
    a, b = write_sources(folder)
    write_set(folder / "pilot", continuum(model, a, b, n_steps=11), model)
    n_trials = answer_pilot(folder / "pilot", folder / "answers.csv", participants=20, reps=6, seed=2024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bootstrap samples left out: the intervals are not used here
        analyze_scale([str(folder / "answers.csv")], str(folder / "scale"), n_bootstrap=10,
                      stimulus_dir=str(folder / "pilot"), plot=False)
    return {"folder": folder, "model": model, "sources": (a, b), "n_trials": n_trials}


def test_a_continuum_respaced_on_the_recovered_scale_has_equal_steps_on_the_true_scale(pilot):
    result = continuum(pilot["model"], *pilot["sources"], n_steps=11, spacing="perceptual",
                       scale=pilot["folder"] / "scale")
    linear_cv = step_cv(np.arange(11) / 10)
    perceptual_cv = step_cv(result["morph_levels"])
    print(f"\nCV of the steps on the true scale ({pilot['n_trials']} triads): linear {100 * linear_cv:.1f} %,"
          f" perceptual {100 * perceptual_cv:.2f} %")
    assert linear_cv > 0.8  # 0.861: the boundary at 0.35 packs the change into a few linear steps
    assert perceptual_cv <= 0.05
    # the group mean was used (the default), its values recorded, the steps equal on it
    parameters = result.parameters
    assert parameters["scale_participant"] == "group" and parameters["scale_fit"] == "group mean"
    assert parameters["interpolation"] == "pchip" and parameters["scale_design"] == "mlds-triads"
    np.testing.assert_allclose(np.diff(result["scale_values"]), np.diff(result["scale_values"]).mean(), atol=1e-12)
    assert [row["scale_value"] for row in result.rows] == list(result["scale_values"])
    # and one participant's scale, when asked for, spaces the steps on that scale instead (this one's
    # noisy values fall between two levels of the flat top: its isotonic version is used, with a warning)
    with pytest.warns(ScaleWarning, match=r"the P03 scale in .* falls from morph level 0.8 to 0.9 \(by 0.0311\)"):
        one = continuum(pilot["model"], *pilot["sources"], n_steps=11, spacing="perceptual",
                        scale=pilot["folder"] / "scale" / "scale.csv", scale_participant="P03")
    assert one.parameters["scale_participant"] == "P03" and one.parameters["scale_fit"] == "participant"
    assert one.parameters["scale_monotone"] == "isotonic" and step_cv(one["morph_levels"]) < linear_cv / 4
    assert not np.array_equal(one["morph_levels"], result["morph_levels"])


def test_the_steps_invert_a_known_scale():
    # a scale that rises as the square of the level, sampled densely: equal quarters lie at sqrt(k / 4)
    levels = np.linspace(0.0, 1.0, 101)
    found, values = perceptual_levels(levels, levels**2, 0.0, 1.0, 5)
    np.testing.assert_allclose(found, [0.0, 0.5, 0.70710678, 0.8660254, 1.0], atol=1e-4)
    np.testing.assert_allclose(values, [0.0, 0.25, 0.5, 0.75, 1.0], atol=1e-12)
    assert found[0] == 0.0 and found[-1] == 1.0
    # a straight scale keeps linear steps, inside any part of its range
    found, _ = perceptual_levels([0.0, 0.5, 1.0], [0.0, 0.5, 1.0], 0.2, 0.6, 5)
    np.testing.assert_allclose(found, [0.2, 0.3, 0.4, 0.5, 0.6], atol=1e-14)
    with pytest.raises(InputError, match="does not rise between morph levels 0.6 and 0.9"):
        perceptual_levels([0.0, 0.5, 1.0], [0.0, 1.0, 1.0], 0.6, 0.9, 3)


def test_a_falling_scale_is_used_in_its_isotonic_version():
    values, mended = monotone_scale([0.0, 0.3, 0.25, 0.6, 1.0])
    assert mended and values.tolist() == [0.0, 0.275, 0.275, 0.6, 1.0]
    values, mended = monotone_scale([0.0, 0.5, 0.2, 0.1, 1.0])
    assert mended and values == pytest.approx([0.0, 0.8 / 3, 0.8 / 3, 0.8 / 3, 1.0])
    values, mended = monotone_scale([0.0, 0.2, 0.2, 1.0])
    assert not mended and values.tolist() == [0.0, 0.2, 0.2, 1.0]


# ------------------------------------------------------------------------------------------
# hand-made scale folders (the layout gaia-stim scale writes) and the command line on the stand-in


def write_scale(folder, levels, values, model_sha256, source_sha256, record=True, participant="group"):
    """A scale folder holding one fit, with (``record``) the scale.json that names the set it was measured on."""
    os.makedirs(folder)
    fit = "group mean" if participant == "group" else "participant"
    with open(os.path.join(folder, "scale.csv"), "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["design", "participant", "fit", "stimulus", "step", "morph_level", "scale"])
        for index, (level, value) in enumerate(zip(levels, values)):
            writer.writerow(["mlds-triads", participant, fit, index + 1, index, repr(level), repr(value)])
    if record:
        measured = None if model_sha256 is None else {
            "model_sha256": model_sha256,
            "source_sha256": [{"role": role, "sha256": sha256} for role, sha256 in zip("ab", source_sha256)],
        }
        with open(os.path.join(folder, "scale.json"), "w", encoding="utf-8") as stream:
            json.dump({"stimulus_set": {"from_data": None, "from_stimuli_option": measured},
                       "fits": [{"design": "mlds-triads", "participant": participant, "fit": fit,
                                 "morph_level": list(levels), "scale": list(values)}]}, stream)
    return str(folder)


def sha256(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """The stand-in model behind ``gaia-stim``, two sources and a scale measured on them, in an empty folder."""
    model = SquaringModel(16)
    monkeypatch.setattr(gaia_stim, "load_model", lambda name_or_path="default", device="cpu": model, raising=False)
    monkeypatch.chdir(tmp_path)
    a, b = write_sources(str(tmp_path))
    levels = [0.0, 0.25, 0.5, 0.75, 1.0]
    values = [0.0, 0.1, 0.7, 0.9, 1.0]
    return {"model": model, "a": "a.png", "b": "b.png", "levels": levels, "values": values,
            "shas": [sha256(a), sha256(b)], "root": tmp_path}


def run(*words):
    return CliRunner().invoke(main, ["continuum", "--from", "a.png", "--to", "b.png", *words])


def assert_refused(result, *words, status=1):
    """Exit ``status``, one error line naming ``words``, no traceback."""
    assert result.exit_code == status, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in errors[0], errors[0]


def written(root):
    """What the command left in the folder, inputs aside."""
    return sorted(set(os.listdir(root)) - {"a.png", "b.png", "scale", "c.png"})


def test_a_matched_scale_spaces_the_steps_and_is_recorded(stand_in):
    scale = write_scale("scale", stand_in["levels"], stand_in["values"], stand_in["model"].file_sha256,
                        stand_in["shas"])
    result = run("--spacing", "perceptual", "--scale", scale, "--steps", "6", "--out", "out")
    assert result.exit_code == 0, result.output
    assert "steps of 0.2 on the group scale (mlds-triads, as fitted, pchip interpolation)" in result.output
    with open("out/manifest.json", encoding="utf-8") as stream:
        manifest = json.load(stream)
    parameters = manifest["parameters"]
    assert parameters["spacing"] == "perceptual" and parameters["scale_file"] == "scale"
    assert parameters["scale_sha256"] == sha256("scale/scale.csv")
    assert parameters["scale_record_sha256"] == sha256("scale/scale.json")
    assert parameters["interpolation"] == "pchip" and parameters["scale_monotone"] == "as fitted"
    assert parameters["allow_unmatched_scale"] is False and parameters["level_range"] == [0.0, 1.0]
    with open("out/stimuli.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    # the table's scale values rise in equal fifths from the scale's value at 0 to its value at 1
    np.testing.assert_allclose([float(row["scale_value"]) for row in rows], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
                               atol=1e-12)
    levels = [float(row["morph_level"]) for row in rows]
    assert levels[0] == 0.0 and levels[-1] == 1.0 and levels == sorted(levels)
    # where the scale is steep (0.25 to 0.5 rises 0.6) the steps crowd in: three of them lie there
    assert sum(0.25 < level < 0.5 for level in levels) == 3
    assert regenerate_set("out", model=stand_in["model"]) == []


@pytest.mark.parametrize("case", ["model", "sources", "order", "no record", "no stimuli", "edited", "range"])
def test_a_scale_that_does_not_fit_is_refused_in_one_line_writing_nothing(stand_in, case):
    sha, shas, record = stand_in["model"].file_sha256, stand_in["shas"], True
    words, extra = ["does not fit this continuum", "--allow-unmatched-scale"], []
    if case == "model":
        sha = hashlib.sha256(b"another model").hexdigest()
        words.append(f"another model (sha256 {sha[:12]}..., this one {stand_in['model'].file_sha256[:12]}...)")
    elif case == "sources":
        shas = [shas[0], hashlib.sha256(b"another face").hexdigest()]
        words.append("a continuum between other images")
    elif case == "order":
        shas = shas[::-1]  # measured from b to a: its levels run the other way
        words.append("a continuum between other images")
    elif case == "no record":
        record = False
        words.append("no scale.json beside its scale.csv")
    elif case == "no stimuli":
        sha = None
        words.append("fitted without --stimuli")
    elif case == "range":
        words = ["--range -0.5 1.5 reaches outside the levels the scale was measured at, 0 to 1", "keep --range"
                 " within 0 1"]
        extra = ["--range", "-0.5", "1.5"]
    scale = write_scale("scale", stand_in["levels"], stand_in["values"], sha, shas, record=record)
    if case == "edited":
        with open("scale/scale.csv", "a", encoding="utf-8") as stream:
            stream.write("mlds-triads,group,group mean,6,5,1.25,1.1\n")
        words.append("disagree")
    result = run("--spacing", "perceptual", "--scale", scale, "--out", "out", *extra)
    assert_refused(result, *words)
    assert written(stand_in["root"]) == []


def test_an_unmatched_scale_is_used_when_allowed_and_recorded(stand_in):
    scale = write_scale("scale", stand_in["levels"], stand_in["values"], None, None, record=False)
    result = run("--spacing", "perceptual", "--scale", scale, "--allow-unmatched-scale", "--steps", "3",
                 "--out", "out")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning: --scale")]
    assert len(warned) == 1 and "--allow-unmatched-scale" in warned[0]
    with open("out/manifest.json", encoding="utf-8") as stream:
        parameters = json.load(stream)["parameters"]
    assert parameters["allow_unmatched_scale"] is True
    assert parameters["scale_record_sha256"] is None and "no scale.json" in parameters["scale_unmatched"][0]
    assert regenerate_set("out", model=stand_in["model"]) == []


def test_a_falling_scale_is_mended_with_a_one_line_warning(stand_in):
    scale = write_scale("scale", stand_in["levels"], [0.0, 0.3, 0.25, 0.6, 1.0], stand_in["model"].file_sha256,
                        stand_in["shas"])
    result = run("--spacing", "perceptual", "--scale", scale, "--steps", "5", "--out", "out")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning: the group scale")]
    assert len(warned) == 1 and "falls from morph level 0.25 to 0.5 (by 0.05)" in warned[0], result.output
    with open("out/manifest.json", encoding="utf-8") as stream:
        parameters = json.load(stream)["parameters"]
    assert parameters["scale_monotone"] == "isotonic" and parameters["scale_values"][2] == 0.25  # as fitted


@pytest.mark.parametrize("words, message, status", [
    (["--scale", "scale"], "--scale) is used only with spacing 'perceptual'", 1),
    (["--spacing", "perceptual"], "spacing 'perceptual' needs the scale", 1),
    (["--spacing", "perceptual", "--scale", "scale", "--include-sources"], "would make those steps unequal", 1),
    (["--spacing", "perceptual", "--scale", "scale", "--scale-participant", "P07"],
     "--scale-participant 'P07' is not in", 1),
    (["--levels", "0,0.5,1", "--steps", "3"], "leave out n_steps (--steps)", 1),
    (["--levels", "0,0.5,1", "--range", "0", "1"], "leave out level_range (--range)", 1),
    (["--levels", "0,0.5,1", "--spacing", "equal"], "spacing 'equal' would move them", 1),
    (["--levels", "0,0.5,0.5,1"], "the levels must increase, each once (0.5 follows 0.5)", 2),
    (["--levels", "0,nan,1"], "is not a finite number", 2),
    (["--levels", "0,half,1"], "'half' in '0,half,1' is not a number", 2),
    (["--levels", "0.5"], "a continuum needs two or more", 2),
    (["--levels", "-101,0,1"], "--levels -101 1 reaches 100 source distances past the sources", 1),
])
def test_option_combinations_and_bad_levels_are_refused(stand_in, words, message, status):
    write_scale("scale", stand_in["levels"], stand_in["values"], stand_in["model"].file_sha256, stand_in["shas"])
    assert_refused(run(*words, "--out", "out"), message, status=status)
    assert written(stand_in["root"]) == []


# ------------------------------------------------------------------------------------------
# 2. continua that hold their sources


@pytest.mark.parametrize("words, expected", [
    (["--range", "-0.5", "1.5", "--steps", "11", "--include-sources"],
     [-0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5]),
    (["--range", "0", "1", "--steps", "5", "--include-sources"], [0.0, 0.25, 0.5, 0.75, 1.0]),
    (["--range", "-1", "2", "--steps", "16", "--include-sources"],  # 0 and 1 are steps already
     [-1.0, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]),
    (["--range", "0.2", "0.8", "--steps", "3", "--include-sources"], [0.0, 0.2, 0.5, 0.8, 1.0]),
    # -0.3 + 1.5 * (2 / 10) is 5.6e-17, not 0: that step is the source's level, not a second image beside it
    (["--range", "-0.3", "1.2", "--steps", "11", "--include-sources"],
     [-0.3, -0.15, 0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0, 1.05, 1.2]),
    (["--levels", "-0.5,0,0.25,1,1.5"], [-0.5, 0.0, 0.25, 1.0, 1.5]),
    (["--levels", "0.2,0.8", "--include-sources"], [0.0, 0.2, 0.8, 1.0]),
    (["--levels", "-0.5, 1.5"], [-0.5, 1.5]),
])
def test_levels_and_include_sources_give_the_levels_asked_for(stand_in, words, expected):
    result = run(*words, "--out", "out")
    assert result.exit_code == 0, result.output
    with open("out/stimuli.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    levels = [float(row["morph_level"]) for row in rows]
    assert levels == pytest.approx(expected, abs=1e-12)
    assert [int(row["step"]) for row in rows] == list(range(len(expected)))
    for source_level in (0.0, 1.0):  # a source, when asked for, is its exact level: the source's own code
        if "--include-sources" in words or source_level in expected:
            assert source_level in levels
    with open("out/manifest.json", encoding="utf-8") as stream:
        parameters = json.load(stream)["parameters"]
    assert parameters["morph_levels"] == levels
    assert parameters.get("include_sources", False) == ("--include-sources" in words)
    if "--levels" in words:
        assert parameters["spacing"] == "explicit" and parameters["n_steps"] == len(parameters["levels"])
    assert regenerate_set("out", model=stand_in["model"]) == []


def test_the_sources_of_a_three_image_continuum_are_included(stand_in):
    Image.open("a.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save("c.png")
    result = CliRunner().invoke(main, ["continuum", "--from", "a.png", "--via", "c.png", "--to", "b.png",
                                       "--range", "-0.5", "2.5", "--steps", "4", "--include-sources", "--out", "out"])
    assert result.exit_code == 0, result.output
    with open("out/stimuli.csv", newline="", encoding="utf-8") as stream:
        levels = [float(row["morph_level"]) for row in csv.DictReader(stream)]
    assert levels == [-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    # at a source's level the image is the model's reconstruction of that source
    model = stand_in["model"]
    with Image.open("out/images/step_03_morph_1.000.png") as image:
        shown = np.asarray(image, dtype=np.float64) / 255
    with Image.open("c.png") as image:
        source = np.asarray(image, dtype=np.float64)[..., None] / 255
    np.testing.assert_allclose(shown, model.decode(model.encode(source[None]))[0, ..., 0], atol=0.5 / 255 + 1e-9)


def test_without_the_new_options_a_continuum_records_what_it_always_did(stand_in):
    result = run("--range", "-0.5", "1.5", "--steps", "5", "--out", "out")
    assert result.exit_code == 0, result.output
    with open("out/manifest.json", encoding="utf-8") as stream:
        parameters = json.load(stream)["parameters"]
    assert list(parameters) == ["sources", "source_a", "source_b", "n_steps", "spacing", "method", "metric",
                                "level_range", "morph_levels", "seed"]
    assert parameters["morph_levels"] == [-0.5, 0.0, 0.5, 1.0, 1.5]
    with open("out/stimuli.csv", newline="", encoding="utf-8") as stream:
        header = next(csv.reader(stream))
    assert header[:4] == ["image_file", "step", "morph_level", "distance_pixel"]
    assert os.listdir("out/images")[0].startswith("step_0")


def test_levels_past_the_sources_warn_as_a_range_does():
    model = SquaringModel(8)
    a, b = np.zeros((8, 8, 1)), np.full((8, 8, 1), 0.8)
    with pytest.warns(ExtrapolationWarning, match="--levels -1.5 1 extrapolates more than one source distance"):
        continuum(model, a, b, levels=[-1.5, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        continuum(model, a, b, levels=[-1.0, 0.0, 2.0])
    with pytest.raises(InputError, match="list of numbers"):
        continuum(model, a, b, levels="0,1")
    with pytest.raises(InputError, match="include_sources must be True or False"):
        continuum(model, a, b, include_sources="yes")


# ------------------------------------------------------------------------------------------
# regeneration reads the scale from its recorded path, unchanged


def test_regeneration_finds_the_scale_beside_the_set_and_refuses_a_changed_one(stand_in, monkeypatch, tmp_path):
    scale = write_scale("scale", stand_in["levels"], stand_in["values"], stand_in["model"].file_sha256,
                        stand_in["shas"])
    assert run("--spacing", "perceptual", "--scale", scale, "--steps", "7", "--out", "out").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the recorded 'scale' is relative: found beside the set
    assert regenerate_set(tmp_path / "out", model=stand_in["model"]) == []
    with open(tmp_path / "scale" / "scale.json", "a", encoding="utf-8") as stream:
        stream.write("\n")
    with pytest.raises(DataError, match="has changed since the continuum was made"):
        regenerate_set(tmp_path / "out", model=stand_in["model"])
    os.rename(tmp_path / "scale", tmp_path / "gone")
    with pytest.raises(DataError, match="the scale this continuum was made with, 'scale', is missing"):
        regenerate_set(tmp_path / "out", model=stand_in["model"])


# ------------------------------------------------------------------------------------------
# 4. end to end through the command line, with the shipped model


def test_pilot_scale_respaced_continuum_and_regeneration_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ends = ["--from", os.path.join(FACES, "face_00005.png"), "--to", os.path.join(FACES, "face_00006.png")]
    pilot = runner.invoke(main, ["continuum", *ends, "--steps", "7", "--out", "pilot"])
    assert pilot.exit_code == 0, pilot.output
    # a noisier observer than above: with 7 stimuli and sigma 0.15 one participant in ten is predicted
    # perfectly by some scale (separation), which gaia-stim scale refuses
    n_trials = answer_pilot("pilot", "answers.csv", participants=3, reps=8, seed=7, sigma=0.25)
    assert n_trials == 3 * 8 * 35
    scale = runner.invoke(main, ["scale", "answers.csv", "--out", "scale", "--stimuli", "pilot", "--bootstrap", "20",
                                 "--no-plot"])
    assert scale.exit_code == 0, scale.output
    main_set = runner.invoke(main, ["continuum", *ends, "--steps", "7", "--spacing", "perceptual", "--scale",
                                    "scale/scale.csv", "--out", "main"])
    assert main_set.exit_code == 0, main_set.output
    with open("main/stimuli.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    levels = np.array([float(row["morph_level"]) for row in rows])
    values = np.array([float(row["scale_value"]) for row in rows])
    # equal sixths of the group scale (of its isotonic version where the mean of three noisy scales dips)
    np.testing.assert_allclose(np.diff(values), (values[-1] - values[0]) / 6, atol=1e-9)
    assert values[0] == 0.0 and abs(values[-1] - 1) < 0.05
    # the observer's boundary at 0.35 pulls the steps towards it: more of them below 0.5 than linear steps
    assert levels[0] == 0.0 and levels[-1] == 1.0 and np.sum(levels < 0.5) > 3
    assert step_cv(levels) < step_cv(np.linspace(0, 1, 7))
    verified = runner.invoke(main, ["verify", "main", "--regenerate"])
    assert verified.exit_code == 0 and "intact and regenerated byte for byte" in verified.output, verified.output
    # a scale measured on another pair of faces is refused for this one
    other = runner.invoke(main, ["continuum", "--from", os.path.join(FACES, "face_00005.png"), "--to",
                                 os.path.join(FACES, "face_00007.png"), "--spacing", "perceptual", "--scale", "scale",
                                 "--out", "other"])
    assert_refused(other, "a continuum between other images")
    assert not os.path.exists("other")
