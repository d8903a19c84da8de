"""PsychoPy in a real window (under xvfb-run): what is drawn, every protocol end to end, Builder.

End to end: ``gaia-stim continuum`` -> ``gaia-stim trials`` -> the protocol in a PsychoPy window
with a simulated observer of known PSE and slope -> PsychoPy's data file -> ``gaia-stim analyze``
must recover the PSE within 0.05 morph units and the slope within 25 %. The trial counts make
that a fair test: at the true parameters the expected standard errors (from the Fisher
information of each design's response model, lapse fitted) are about 0.010-0.017 for the PSE and
8-9 % for the slope, so the tolerances are about 3 standard errors for both.
"""

import glob
import json
import pathlib
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from _psychopy_env import need_display, need_psychopy, run_in_window
from gaia_stim.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
FACES = ROOT / "examples" / "faces"
OBSERVER = {"pse": 0.45, "slope": 3.5, "lapse": 0.02, "seed": 7}
# design -> (protocol script, reps, separation)
DESIGNS = {
    "identification": ("identification.py", 120, None),
    "2afc": ("2afc.py", 240, 3),
    "abx": ("abx.py", 120, 4),
    "same-different": ("same_different.py", 25, 3),
}


@pytest.fixture(scope="module")
def stimulus_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("psychopy") / "set"
    result = CliRunner().invoke(main, ["continuum", "--from", str(FACES / "face_00005.png"),
                                       "--to", str(FACES / "face_00006.png"), "--steps", "11", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def make_trials(stimulus_set, design, out):
    _, reps, separation = DESIGNS[design]
    args = ["trials", "--stimuli", str(stimulus_set), "--design", design, "--reps", str(reps), "--seed", "11",
            "--out", str(out)]
    if separation:
        args += ["--separation", str(separation)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


def analyze(data_file, out):
    result = CliRunner().invoke(main, ["analyze", str(data_file), "--out", str(out), "--fitter", "scipy",
                                       "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "summary.csv").iloc[0]


def assert_recovered(row):
    assert abs(row["pse"] - OBSERVER["pse"]) < 0.05, row.to_dict()
    assert abs(row["slope"] / OBSERVER["slope"] - 1) < 0.25, row.to_dict()


def block_means(frame, box, size):
    """The drawn region of a screenshot, averaged back down to the image's pixel grid."""
    left, top, right, bottom = box
    crop = frame.convert("RGB").crop((left, top, right, bottom))
    return np.asarray(crop.resize(size, Image.Resampling.BOX), dtype=np.float64) / 255


def asymmetric_images(folder):
    """A colour and a grey image that look different upside down and mirrored."""
    height, width = 48, 64
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x / (width - 1), y / (height - 1), 0.5 + 0 * x], -1)
    rgb[:6] = [1, 1, 0]
    rgb[:, :5] = [0, 0, 1]
    colour, grey = folder / "asymmetric_rgb.png", folder / "asymmetric_grey.png"
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(colour)
    Image.fromarray(np.round(rgb.mean(-1) * 255).astype(np.uint8)).save(grey)
    return [colour, grey]


def test_drawn_frames_match_the_image_files_and_live_arrays(tmp_path, stimulus_set):
    images = asymmetric_images(tmp_path) + [stimulus_set / "images" / "step_03_morph_0.300.png"]
    out = tmp_path / "frames"
    run_in_window([ROOT / "tests" / "psychopy_frames.py", out, *images, "--live-model", "default",
                   "--live-from", FACES / "face_00005.png", "--live-to", FACES / "face_00006.png"], timeout=300)
    cases = json.loads((out / "frames.json").read_text())
    assert [case["name"] for case in cases] == [
        "file_0", "array_0", "file_1", "array_1", "file_2", "array_2", "live_0.25", "live_0.75"
    ]
    for case in cases:
        expected = np.asarray(Image.open(case["expected"]).convert("RGB"), dtype=np.float64) / 255
        drawn = block_means(Image.open(case["frame"]), case["box"], expected.shape[1::-1])
        error = np.abs(drawn - expected).mean()
        upside_down = np.abs(drawn[::-1] - expected).mean()
        mirrored = np.abs(drawn[:, ::-1] - expected).mean()
        assert error < 0.02, (case["name"], error)
        assert upside_down > 3 * error, (case["name"], error, upside_down)
        if case["name"].endswith(("_0", "_1")):  # the asymmetric images also tell mirroring apart
            assert mirrored > 3 * error, (case["name"], error, mirrored)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_protocol_end_to_end_recovers_the_simulated_observer(tmp_path, stimulus_set, design):
    script = DESIGNS[design][0]
    trials = tmp_path / "lists" / f"{design}.csv"
    make_trials(stimulus_set, design, trials)
    data_dir = tmp_path / "data"
    run_in_window([PROTOCOLS / script, trials, "--participant", "sim", "--data-dir", data_dir, "--simulate",
                   "--fast", "--sim-pse", OBSERVER["pse"], "--sim-slope", OBSERVER["slope"],
                   "--sim-lapse", OBSERVER["lapse"], "--sim-seed", OBSERVER["seed"], "--window-size", 400, 300])
    [data_file] = glob.glob(str(data_dir / f"sim_{design}_*.csv"))
    assert glob.glob(str(data_dir / f"sim_{design}_*.psydat"))
    assert open(data_file, "rb").read(3) == b"\xef\xbb\xbf"  # PsychoPy's own wide CSV
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    assert len(table) == len(pd.read_csv(trials)) and table["simulated"].all()
    assert_recovered(analyze(data_file, tmp_path / "analysis"))


def test_builder_experiment_compiles_and_runs(tmp_path, stimulus_set):
    need_display()
    experiment = tmp_path / "builder" / "identification.psyexp"
    experiment.parent.mkdir()
    experiment.write_bytes((PROTOCOLS / "identification.psyexp").read_bytes())
    compiled = experiment.with_suffix(".py")
    run_in_window(["-m", "psychopy.scripts.psyexpCompile", experiment, "--outfile", compiled])
    assert "importConditions(expInfo['trials'])" in compiled.read_text()
    trials = tmp_path / "lists" / "identification.csv"
    make_trials(stimulus_set, "identification", trials)
    simulate = ",".join(str(OBSERVER[k]) for k in ("pse", "slope", "lapse", "seed"))
    run_in_window([compiled], env={
        "GAIA_STIM_SIMULATE": simulate,
        "GAIA_STIM_EXPINFO": json.dumps({"participant": "builder", "trials": str(trials)}),
    })
    [data_file] = glob.glob(str(experiment.parent / "data" / "builder_identification_*.csv"))
    assert_recovered(analyze(data_file, tmp_path / "analysis"))


def test_the_psyexp_is_what_the_generator_writes(tmp_path):
    """protocols/identification.psyexp is regenerated, not hand-edited, so it must match."""
    need_psychopy()
    sys.path.insert(0, str(PROTOCOLS))
    try:
        import make_identification_psyexp
    finally:
        sys.path.remove(str(PROTOCOLS))
    path = tmp_path / "identification.psyexp"
    make_identification_psyexp.build().saveToXML(str(path), makeLegacy=False)
    assert path.read_text() == (PROTOCOLS / "identification.psyexp").read_text()


@pytest.mark.parametrize("method", ["staircase", "quest"])
def test_live_staircase_example_homes_in_on_the_pse(tmp_path, method):
    result = run_in_window([ROOT / "examples" / "staircase_live.py", "--simulate", "--fast", "--method", method,
                            "--trials", 40, "--data-dir", tmp_path, "--window-size", 400, 300,
                            "--sim-pse", OBSERVER["pse"], "--sim-slope", OBSERVER["slope"]])
    estimate = float(result.stdout.split(f"PSE estimate ({method}): ")[1].split()[0])
    assert abs(estimate - OBSERVER["pse"]) < 0.1, result.stdout
    [data_file] = glob.glob(str(tmp_path / "*.csv"))
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    levels = table["morph_level"].to_numpy()
    assert len(table) == (80 if method == "staircase" else 40)
    assert len(np.unique(levels)) > 5, "the levels must be chosen adaptively, not from a fixed set"
    assert table["generation_ms"].notna().all()
