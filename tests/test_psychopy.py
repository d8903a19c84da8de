"""PsychoPy in a real window (under xvfb-run): what is drawn, every protocol end to end, Builder.

End to end: ``gaia-stim continuum`` -> ``gaia-stim trials`` -> the protocol in a PsychoPy window
with a simulated observer of known PSE and slope -> PsychoPy's data file -> ``gaia-stim analyze``
must recover the PSE within 0.05 morph units and the slope within 25 %. The trial counts make
that a fair test: at the true parameters the expected standard errors (from the Fisher
information of each design's response model, lapse fitted) are about 0.010-0.017 for the PSE and
8-9 % for the slope, so the tolerances are about 3 standard errors for both.
"""

import builtins
import glob
import json
import math
import os
import pathlib
import subprocess
import sys
import time
import types
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from _psychopy_env import KeyPresser, need_display, need_psychopy, run_in_window, virtual_display
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


def builder_copy(folder, design):
    """The design's .psyexp and the instructions files, copied to ``folder`` as a lab would copy them."""
    folder.mkdir(parents=True, exist_ok=True)
    name = BUILDER[design]
    (folder / name).write_bytes((PROTOCOLS / name).read_bytes())
    (folder / "instructions").mkdir(exist_ok=True)
    for text in (PROTOCOLS / "instructions").glob("*.txt"):
        (folder / "instructions" / text.name).write_bytes(text.read_bytes())
    return folder / name


def compile_builder(experiment, keyboard_backend=None):
    """``exp.writeScript()`` of the loaded .psyexp, written beside it (Builder's backend choice changed if asked)."""
    from psychopy.experiment import Experiment

    exp = Experiment()
    exp.loadFromXML(str(experiment))
    if keyboard_backend:
        exp.settings.params["keyboardBackend"].val = keyboard_backend
    script = exp.writeScript(expPath=str(experiment))
    compiled = experiment.with_suffix(".py")
    compiled.write_text(script, encoding="utf-8")
    return compiled


BUILDER = {"identification": "identification.psyexp", "2afc": "2afc.psyexp", "abx": "abx.psyexp",
           "same-different": "same_different.psyexp"}
BUILDER_COLUMNS = {"identification": "chose_b", "2afc": "correct", "abx": "correct", "same-different": "said_different"}


@pytest.mark.parametrize("design", list(BUILDER))
def test_every_builder_file_loads_compiles_and_runs(tmp_path, stimulus_set, design):
    """Each .psyexp opens with Experiment.loadFromXML and compiles (exp.writeScript()); the compiled script
    shows the instructions and runs a short list with the simulated observer, writing its CSV row by row."""
    need_display()
    experiment = builder_copy(tmp_path / "builder", design)
    compiled = compile_builder(experiment)
    code = compiled.read_text()
    assert "importConditions(expInfo['trials'])" in code and "start_text" in code
    assert "saveAsWideText" not in code, "Builder's own CSV would repeat the trial-by-trial one"
    trials = tmp_path / "lists" / f"{design}.csv"
    _, _, separation = DESIGNS[design]
    args = ["trials", "--stimuli", str(stimulus_set), "--design", design, "--reps", "1", "--seed", "4",
            "--out", str(trials)] + (["--separation", str(separation)] if separation else [])
    assert CliRunner().invoke(main, args).exit_code == 0
    simulate = ",".join(str(OBSERVER[k]) for k in ("pse", "slope", "lapse", "seed"))
    run_in_window([compiled], env={"GAIA_STIM_SIMULATE": simulate,
                                   "GAIA_STIM_EXPINFO": json.dumps({"participant": "b", "trials": str(trials)})})
    [data_file] = glob.glob(str(experiment.parent / "data" / "*.csv"))
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    listed = pd.read_csv(trials)
    assert len(table) == len(listed) and list(table["trial_number"]) == list(range(1, len(listed) + 1))
    assert table[BUILDER_COLUMNS[design]].isin([0, 1]).all() and (table["simulated"] == 1).all()
    for column in listed.columns:  # the trial list's columns, as listed
        assert table[column].astype(str).tolist() == listed[column].astype(str).tolist(), column
    sidecar = json.loads(trials.with_suffix(".json").read_text())
    assert set(table["set_manifest_sha256"]) == {sidecar["stimulus_set"]["manifest_sha256"]}
    for column in ("participant", "session", "date", "expName", "psychopyVersion"):
        assert table[column].notna().all(), column
    assert glob.glob(str(experiment.parent / "data" / "*.psydat")) and glob.glob(str(experiment.parent / "data" / "*.log"))


def test_builder_identification_recovers_the_simulated_observer(tmp_path, stimulus_set):
    need_display()
    experiment = builder_copy(tmp_path / "builder", "identification")
    compiled = experiment.with_suffix(".py")
    run_in_window(["-m", "psychopy.scripts.psyexpCompile", experiment, "--outfile", compiled])
    trials = tmp_path / "lists" / "identification.csv"
    make_trials(stimulus_set, "identification", trials)
    simulate = ",".join(str(OBSERVER[k]) for k in ("pse", "slope", "lapse", "seed"))
    run_in_window([compiled], env={
        "GAIA_STIM_SIMULATE": simulate,
        "GAIA_STIM_EXPINFO": json.dumps({"participant": "builder", "trials": str(trials)}),
    })
    [data_file] = glob.glob(str(experiment.parent / "data" / "builder_identification_*.csv"))
    assert_recovered(analyze(data_file, tmp_path / "analysis"))


def test_builder_identification_takes_keys_from_a_person(tmp_path, stimulus_set):
    """The compiled script with the dialog answered and keys pressed through XTEST (Builder's 'Pyglet'
    keyboard backend: psychtoolbox's keyboard does not see XTEST keys under Xvfb)."""
    experiment = builder_copy(tmp_path / "builder", "identification")
    compiled = compile_builder(experiment, keyboard_backend="Pyglet")
    trials = tmp_path / "lists" / "identification.csv"
    assert CliRunner().invoke(main, ["trials", "--stimuli", str(stimulus_set), "--design", "identification",
                                     "--reps", "1", "--seed", "5", "--out", str(trials)]).exit_code == 0
    data_dir = experiment.parent / "data"
    data_dir.mkdir()
    with virtual_display() as display:
        presser = KeyPresser(display, data_dir, plan=None, repeat=(0.25, ["space", "right", "left"]))
        presser.start()
        try:
            result = subprocess.run([sys.executable, str(compiled)], capture_output=True, text=True, timeout=300,
                                    env={**os.environ, "DISPLAY": display,
                                         "GAIA_STIM_EXPINFO": json.dumps({"participant": "person",
                                                                          "trials": str(trials)})})
        finally:
            presser.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    [data_file] = glob.glob(str(data_dir / "person_identification_*.csv"))
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    assert len(table) == 11 and (table["simulated"] == 0).all()
    assert table["response"].isin(["left", "right"]).all()
    assert (table["chose_b"] == (table["response"] == "right")).all()
    assert (table["rt"] > 0).all()


def test_builder_sigterm_keeps_every_finished_trial(tmp_path, stimulus_set):
    """SIGTERM to a compiled Builder experiment: the rows written trial by trial stay, every one whole,
    and Python's exit lets PsychoPy save the .psydat and the .log (exit status 143)."""
    experiment = builder_copy(tmp_path / "builder", "identification")
    compiled = compile_builder(experiment)
    trials = tmp_path / "lists" / "identification.csv"
    assert CliRunner().invoke(main, ["trials", "--stimuli", str(stimulus_set), "--design", "identification",
                                     "--reps", "100", "--seed", "6", "--out", str(trials)]).exit_code == 0
    data_dir = experiment.parent / "data"
    simulate = ",".join(str(OBSERVER[k]) for k in ("pse", "slope", "lapse", "seed"))
    with virtual_display() as display:
        process = subprocess.Popen([sys.executable, str(compiled)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={**os.environ, "DISPLAY": display, "GAIA_STIM_SIMULATE": simulate,
                                                   "GAIA_STIM_EXPINFO": json.dumps({"participant": "b",
                                                                                    "trials": str(trials)})})
        deadline = time.monotonic() + 240
        while not any(path.read_bytes().count(b"\n") >= 6 for path in data_dir.glob("*.csv")):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        process.terminate()
        process.communicate(timeout=120)
    assert process.returncode == 143
    [data_file] = glob.glob(str(data_dir / "*.csv"))
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    assert 5 <= len(table) < 1100 and list(table["trial_number"]) == list(range(1, len(table) + 1))
    assert table["chose_b"].isin([0, 1]).all()
    assert glob.glob(str(data_dir / "*.psydat")) and glob.glob(str(data_dir / "*.log"))


def _routine_code(design, name):
    """The observer's code of ``name`` ("Begin Routine", "End Routine") in the design's .psyexp."""
    tree = ElementTree.parse(PROTOCOLS / (BUILDER.get(design) or BUILDER_MLDS[design]))
    [observer] = [component for component in tree.iter("CodeComponent") if component.get("name") == "observer"]
    [code] = [param.get("val") for param in observer.iter("Param") if param.get("name") == name]
    return code.replace("&#10;", "\n")  # Builder's own escape of a newline, kept literally in the file


class Draw:
    """One scripted ``sim_rng.random()``: below the probability it is compared with, or not."""

    def __init__(self, below, compared):
        self.below, self.compared = below, compared

    def __lt__(self, probability):
        self.compared.append(probability)
        return self.below


class Components(dict):
    """Locals for exec: names neither the code, the test's globals nor builtins define are the routine's
    components (``stimulus.tStartRefresh``), whose onsets the test does not know."""

    def __init__(self, known):
        super().__init__()
        self.known = known

    def __missing__(self, name):
        if name in self.known or hasattr(builtins, name):
            raise KeyError(name)  # look further: the globals, the builtins
        return types.SimpleNamespace(tStartRefresh=None, keys=None, rt=None)


BUILDER_MLDS = {"mlds-triads": "mlds_triads.psyexp", "mlds-quadruples": "mlds_quadruples.psyexp"}
# The Coder protocols' keys by role, as each mapping gives them.
BUILDER_KEYS = {"identification": ("key_a", "key_b", "left", "right", True),
                "2afc": ("key_left", "key_right", "left", "right", False),
                "abx": ("key_a", "key_b", "left", "right", True),
                "same-different": ("key_same", "key_different", "s", "d", True),
                "mlds-triads": ("key_left", "key_right", "left", "right", False),
                "mlds-quadruples": ("key_left", "key_right", "left", "right", False)}


@pytest.mark.parametrize("design", [*BUILDER, *BUILDER_MLDS])
def test_builder_observers_answer_with_the_records_probability(design):
    """Each Builder observer's Begin Routine code, run over every sequence of its draws (as
    tests/test_design_records.py does for the Coder observers), and its End Routine code, which codes
    the answer, give response 1 with exactly the record's probability, with the keys as they are and
    swapped (the designs whose keys name answers); the MLDS observers with the probability of a
    perceptual scale with decision noise."""
    from gaia_stim.analysis import response_probability
    from gaia_stim.designs import DESIGNS as RECORDS, design_trials

    sys.path.insert(0, str(PROTOCOLS))
    try:
        import _mlds
    finally:
        sys.path.remove(str(PROTOCOLS))
    record = RECORDS[design]
    begin, end = _routine_code(design, "Begin Routine"), _routine_code(design, "End Routine")
    stimuli = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / 6} for i in range(7)]
    rows = design_trials(stimuli, design, 1, np.random.default_rng(0), (1, 3) if record.takes_separations else ())
    observer = {"pse": 0.45, "slope": 3.5, "lapse": 0.02}
    scale_text, sigma = "logistic:0.35:0.1", 0.25
    first_role, second_role, first_key, second_key, swappable = BUILDER_KEYS[design]
    mappings = [(first_key, second_key)] + ([(second_key, first_key)] if swappable else [])
    for keys in mappings:
        for trial in rows[::3] if record.scale_probability else rows:
            total, response_one, pending = 0.0, 0.0, [[]]
            while pending:
                script, draws, compared = pending.pop(), [], []

                def random():
                    draws.append(script[len(draws)] if len(draws) < len(script) else True)
                    return Draw(draws[-1], compared)

                recorded, written = {}, {}
                loop = types.SimpleNamespace(thisN=0, thisTrial=trial)
                scope = {"os": os, "math": math, "np": np, "trial_folder": "", "simulating": True,
                         "sim_pse": observer["pse"], "sim_slope": observer["slope"], "sim_lapse": observer["lapse"],
                         "sim_psi": _mlds.parse_scale(scale_text), "sim_sigma": sigma,
                         "sim_rng": types.SimpleNamespace(random=random), **trial,
                         "answer_keys": {first_role: keys[0], second_role: keys[1]},
                         "thisExp": types.SimpleNamespace(addData=recorded.__setitem__, dataFileName="x"),
                         "currentLoop": loop, "practice_loop": types.SimpleNamespace(),
                         "break_due": lambda number, every, n: False, "break_every": 0, "n_trials": len(rows),
                         "texts": None, "key_mapping": "m", "n_practice": 0, "response_timeout": None,
                         "expInfo": {"participant": "p", "session": "1", "date": "d", "trials": "t.csv"},
                         "expName": design, "psychopyVersion": "v", "set_manifest_sha256": None,
                         "trial_csv": types.SimpleNamespace(write=lambda path, row: written.update(row))}
                names = Components(scope)
                exec(begin, scope, names)
                assert names["sim_answered"] is False
                names["sim_answered"] = True  # the observer has answered (Each Frame code, once the keyboard runs)
                exec(end, scope, names)
                assert len(compared) == len(draws)
                probability = math.prod(p if below else 1 - p for below, p in zip(draws, compared))
                pending.extend(draws[:i] + [False] for i in range(len(script), len(draws)))
                total += probability
                assert recorded["design"] == design and recorded[record.response_column] in (0, 1)
                assert written[record.response_column] == recorded[record.response_column]  # the CSV row, too
                assert written["response"] in keys and written["timed_out"] == 0 and written["is_practice"] == 0
                response_one += probability * recorded[record.response_column]
            assert total == pytest.approx(1.0, abs=1e-12)
            levels = [[trial[column] for column in record.level_columns]]
            if record.scale_probability:
                expected = float(record.scale_probability(levels, _mlds.parse_scale(scale_text), sigma)[0])
            else:
                expected = float(response_probability(design, levels, **observer)[0])
            assert response_one == pytest.approx(expected, abs=1e-12), (keys, trial)


def test_the_psyexps_are_what_the_generator_writes(tmp_path):
    """The .psyexp files are regenerated, not hand-edited, so they must match what make_psyexp.py writes."""
    need_psychopy()
    sys.path.insert(0, str(PROTOCOLS))
    try:
        import make_psyexp
    finally:
        sys.path.remove(str(PROTOCOLS))
    written = make_psyexp.write_all(str(tmp_path))
    names = [*BUILDER.values(), *BUILDER_MLDS.values()]
    assert sorted(Path(path).name for path in written) == sorted(names)
    for name in names:
        assert (tmp_path / name).read_text() == (PROTOCOLS / name).read_text(), name


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
