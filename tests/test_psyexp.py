"""The Builder files' session options: practice, breaks, a response deadline, counterbalanced keys, MLDS.

Every .psyexp (the four labelling designs and the two MLDS designs) is compiled and run under Xvfb
with its simulated observer on a short list, with a practice block, a break interval that falls
inside the run and a deadline, for participant P02; the data file must show the practice rows (the
list's easiest trials, computed here from the levels), the breaks where the Coder rule puts them
(the rows and the log), feedback screens after the practice trials that have a right answer, and
the keys of the counterbalanced mapping. A second run (P07, an observer slower than the deadline)
must record every trial as timed out with the standard mapping. The MLDS runs' data go through
``gaia-stim scale``. Without a window: the Builder's copy of the counterbalancing rule maps
participants as the Coder protocols do, and its Experiment info options refuse bad values naming
the field. Skipped without PsychoPy or xvfb-run, unless GAIA_STIM_REQUIRE_PSYCHOPY=1.
"""

import ast
import glob
import json
import math
import re
import types
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _psychopy_env import need_display, run_in_window
from conftest import load_protocol
from gaia_stim.cli import main
from gaia_stim.io.sets import write_stimulus_set

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
N_STEPS = 7
PRACTICE, BREAK_EVERY, TIMEOUT = 3, 3, 5.0
LABELLING = "0.45,3.5,0.02,7"  # pse, slope, lapse, seed
SCALE = "logistic:0.35:0.1,0.25,5"  # scale, sigma, seed

# design -> (Builder file, trial options, simulated observer, Coder keys, whether the mapping swaps them)
DESIGNS = {
    "identification": ("identification.psyexp", [], LABELLING, ("left", "right"), True),
    "2afc": ("2afc.psyexp", ["--separation", "2"], LABELLING, ("left", "right"), False),
    "abx": ("abx.psyexp", ["--separation", "2"], LABELLING, ("left", "right"), True),
    "same-different": ("same_different.psyexp", ["--separation", "2"], LABELLING, ("s", "d"), True),
    "mlds-triads": ("mlds_triads.psyexp", [], SCALE, ("left", "right"), False),
    "mlds-quadruples": ("mlds_quadruples.psyexp", [], SCALE, ("left", "right"), False),
}


def ease(design, row):
    """How easy a trial is, written out here from the designs' levels (the practice takes the easiest)."""
    if design == "identification":
        return abs(row["morph_level"] - 0.5)
    if design == "2afc":
        return abs(row["morph_left"] - row["morph_right"])
    if design == "abx":
        return abs(row["morph_a"] - row["morph_b"])
    if design == "same-different":
        return row["pair_separation"]
    second = abs(row["morph_3"] - row["morph_2"]) if design == "mlds-triads" else abs(row["morph_4"] - row["morph_3"])
    return abs(second - abs(row["morph_2"] - row["morph_1"]))


def expected_answer_column(design, table, keys):
    """The coded answer each row must hold given its key and the mapping's ``keys`` (first role, second role)."""
    first, second = keys
    response = table["response"]
    if design == "identification":
        return table["chose_b"], (response == second).astype(int)
    if design == "2afc":
        return table["chosen_side"], response.map({first: "left", second: "right"})
    if design == "abx":
        return table["answer"], response.map({first: "A", second: "B"})
    if design == "same-different":
        return table["said_different"], (response == second).astype(int)
    return table["chose_second_pair"], (response == second).astype(int)


@pytest.fixture(scope="module")
def stimulus_set(tmp_path_factory):
    """A small continuum of flat greys (written by the package's writer; no model needed)."""
    folder = tmp_path_factory.mktemp("psyexp") / "set"
    images = np.stack([np.full((16, 16, 1), 60 + 20 * i, dtype=np.uint8) for i in range(N_STEPS)])
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / (N_STEPS - 1)}
            for i in range(N_STEPS)]
    write_stimulus_set(folder, images, rows, {"seed": None}, types.SimpleNamespace(name="test"), kind="continuum")
    return folder


def compiled_copy(folder, design):
    """The design's .psyexp and the instructions, copied to ``folder`` and compiled (exp.writeScript())."""
    from psychopy.experiment import Experiment

    folder.mkdir(parents=True)
    name = DESIGNS[design][0]
    (folder / name).write_bytes((PROTOCOLS / name).read_bytes())
    (folder / "instructions").mkdir()
    for text in (PROTOCOLS / "instructions").glob("*.txt"):
        (folder / "instructions" / text.name).write_bytes(text.read_bytes())
    exp = Experiment()
    exp.loadFromXML(str(folder / name))
    compiled = (folder / name).with_suffix(".py")
    compiled.write_text(exp.writeScript(expPath=str(folder / name)), encoding="utf-8")
    return compiled


def run_session(tmp_path, stimulus_set, design, info, simulate, env=None):
    """Compile and run the design's Builder file unattended; its data table, the listed trials and its log."""
    need_display()
    trials = tmp_path / "lists" / f"{design}.csv"
    result = CliRunner().invoke(main, ["trials", "--stimuli", str(stimulus_set), "--design", design, "--reps", "1",
                                       "--seed", "3", "--out", str(trials), *DESIGNS[design][1]])
    assert result.exit_code == 0, result.output
    compiled = compiled_copy(tmp_path / "builder", design)
    run_in_window([compiled], timeout=300, env={"GAIA_STIM_SIMULATE": simulate, **(env or {}),
                                                "GAIA_STIM_EXPINFO": json.dumps({**info, "trials": str(trials)})})
    [data_file] = glob.glob(str(compiled.parent / "data" / "*.csv"))
    [log] = glob.glob(str(compiled.parent / "data" / "*.log"))
    return data_file, pd.read_csv(data_file, encoding="utf-8-sig"), pd.read_csv(trials), Path(log).read_text()


@pytest.mark.parametrize("design", list(DESIGNS))
def test_builder_session_with_practice_breaks_a_deadline_and_counterbalanced_keys(tmp_path, stimulus_set, design):
    info = {"participant": "P02", "practice": PRACTICE, "break_every": BREAK_EVERY, "response_timeout": TIMEOUT,
            "key_mapping": "counterbalance"}
    data_file, table, listed, log = run_session(tmp_path, stimulus_set, design, info, DESIGNS[design][2])
    n = len(listed)
    assert n > 2 * BREAK_EVERY  # the breaks fall inside the run

    # Practice: the easiest trials of the list (ties: the earliest), in the list's order, flagged.
    by_ease = sorted(range(n), key=lambda index: (-ease(design, listed.iloc[index]), index))
    chosen = sorted(by_ease[:PRACTICE])
    assert list(table["is_practice"]) == [1] * PRACTICE + [0] * n
    practice, main_rows = table.iloc[:PRACTICE], table.iloc[PRACTICE:]
    assert list(practice["trial_number"]) == list(range(1, PRACTICE + 1))
    assert list(main_rows["trial_number"]) == list(range(1, n + 1))
    for column in listed.columns:
        assert practice[column].astype(str).tolist() == listed.iloc[chosen][column].astype(str).tolist(), column
        assert main_rows[column].astype(str).tolist() == listed[column].astype(str).tolist(), column

    # Breaks after every BREAK_EVERY main trials but the last: in the rows and as screens in the log.
    expected_breaks = [k for k in range(BREAK_EVERY, n, BREAK_EVERY)]
    assert list(main_rows.loc[main_rows["break_after"] == 1, "trial_number"]) == expected_breaks
    assert (practice["break_after"] == 0).all()
    shown = [int(k) for k in re.findall(r"gaia-stim: break screen after main trial (\d+) of %d" % n, log)]
    assert shown == expected_breaks

    # Feedback after each practice trial with a right answer (the MLDS designs have none), none after main trials.
    with_answer = int(practice["correct"].notna().sum())
    assert log.count("gaia-stim: feedback screen") == with_answer
    assert with_answer == (0 if design.startswith("mlds") else PRACTICE)

    # The deadline is in force but the observer answers at once; P02 (even) swaps the keys where they name answers.
    assert (table["response_timeout"] == TIMEOUT).all() and (table["timed_out"] == 0).all()
    keys, swappable = DESIGNS[design][3], DESIGNS[design][4]
    mapping = "swapped" if swappable else "standard"
    keys = keys[::-1] if swappable else keys
    assert set(table["key_mapping"]) == {mapping}
    assert table["response"].isin(keys).all() and table["response"].nunique() == 2
    recorded, expected = expected_answer_column(design, table, keys)
    assert recorded.tolist() == expected.tolist()

    if design.startswith("mlds"):  # the data gaia-stim scale fits
        result = CliRunner().invoke(main, ["scale", data_file, "--out", str(tmp_path / "scale"), "--stimuli",
                                           str(stimulus_set), "--bootstrap", "10", "--no-plot"])
        assert result.exit_code == 0, result.output
        fitted = pd.read_csv(tmp_path / "scale" / "scale.csv")
        assert len(fitted) == N_STEPS and fitted["scale"].notna().all()


def test_builder_deadline_times_out_a_slow_observer(tmp_path, stimulus_set):
    """An observer that answers 1 s after the image's onset, with a 0.2 s deadline: every trial is recorded as
    timed out (no response, no coded answer), the practice trial gets the too-slow feedback, and P07 (odd)
    keeps the standard mapping."""
    info = {"participant": "P07", "practice": 1, "response_timeout": 0.2, "key_mapping": "counterbalance"}
    _, table, listed, log = run_session(tmp_path, stimulus_set, "identification", info, LABELLING,
                                        env={"GAIA_STIM_SIMULATE_RT": "1.0"})
    assert len(table) == len(listed) + 1 and list(table["is_practice"]) == [1] + [0] * len(listed)
    assert (table["timed_out"] == 1).all()
    assert table["response"].isna().all() and table["chose_b"].isna().all() and table["rt"].isna().all()
    assert log.count("gaia-stim: feedback screen") == 1
    assert set(table["key_mapping"]) == {"standard"}
    assert (table["key_a"] == "left").all() and (table["key_b"] == "right").all()
    assert "break screen" not in log  # break_every left at its default, 0


def builder_functions(design, names):
    """The named functions of the Builder file's Before Experiment code, as a namespace (no PsychoPy needed)."""
    tree = ElementTree.parse(PROTOCOLS / DESIGNS[design][0])
    [code] = [param.get("val") for param in tree.iter("Param") if param.get("name") == "Before Experiment"
              and param.get("val")]
    module = ast.parse(code.replace("&#10;", "\n"))  # Builder's own escape of a newline, kept literally
    constants = [node for node in module.body if isinstance(node, ast.Assign)
                 and any(getattr(target, "id", None) in ("SWAPPABLE", "KEYS", "KEY_ROLES") for target in node.targets)]
    functions = [node for node in module.body if isinstance(node, ast.FunctionDef) and node.name in names]
    assert sorted(node.name for node in functions) == sorted(names)
    scope = {"re": re, "math": math}
    exec(compile(ast.Module(body=constants + functions, type_ignores=[]), design, "exec"), scope)
    return scope


@pytest.mark.parametrize("design", ["identification", "abx", "same-different"])
def test_builder_and_coder_counterbalance_the_same_participants(design):
    """Key mapping 'counterbalance' in a Builder file gives every participant id the mapping the Coder
    protocol's --counterbalance gives it, and both refuse an id without a number."""
    builder = builder_functions(design, ["participant_number", "counterbalanced_mapping", "info_option",
                                         "mapping_option"])
    protocol, coder, _ = load_protocol({"identification": "identification.py", "abx": "abx.py",
                                  "same-different": "same_different.py"}[design])
    ids = ["P01", "P02", "7", "P10", "S2x13", "lab3-P004", "0", "sub_99"]
    expected = {"P01": "standard", "P02": "swapped", "7": "standard", "P10": "swapped", "S2x13": "standard",
                "lab3-P004": "swapped", "0": "swapped", "sub_99": "standard"}  # the last number's parity
    for participant in ids:
        args = coder.parse_arguments(protocol, ["trials.csv", "--counterbalance", "--participant", participant])
        built = builder["mapping_option"]({"participant": participant, "key_mapping": "counterbalance"})
        assert built == args.key_mapping == expected[participant], participant
    with pytest.raises(SystemExit, match="needs a number in 'participant'"):
        builder["mapping_option"]({"participant": "pilot", "key_mapping": "counterbalance"})
    with pytest.raises(SystemExit):
        coder.parse_arguments(protocol, ["trials.csv", "--counterbalance", "--participant", "pilot"])
    # The drop-down's default (a list, where no dialog answered it) and the plain choices.
    assert builder["mapping_option"]({"participant": "P02", "key_mapping": ["standard", "swapped"]}) == "standard"
    assert builder["mapping_option"]({"participant": "P02", "key_mapping": "swapped"}) == "swapped"


def test_builder_options_refuse_bad_values_naming_the_field():
    builder = builder_functions("2afc", ["info_option", "count_option", "seconds_option", "mapping_option",
                                         "participant_number", "counterbalanced_mapping", "break_due"])
    assert builder["count_option"]({"practice": " 4 "}, "practice", "") == 4
    assert builder["count_option"]({}, "practice", "") == 0
    for bad in ("-1", "2.5", "some"):
        with pytest.raises(SystemExit, match=r"'practice' must be a whole number >= 0.*got %r" % bad):
            builder["count_option"]({"practice": bad}, "practice", "practice trials; 0: none")
    assert builder["seconds_option"]({"response_timeout": ""}, "response_timeout") is None
    assert builder["seconds_option"]({"response_timeout": "1.5"}, "response_timeout") == 1.5
    for bad in ("0", "-2", "nan", "inf", "soon"):
        with pytest.raises(SystemExit, match=r"'response_timeout' must be empty \(no deadline\) or a positive"):
            builder["seconds_option"]({"response_timeout": bad}, "response_timeout")
    # 2AFC's keys name sides: the mapping is always standard, whatever the field says.
    assert builder["mapping_option"]({"participant": "P02", "key_mapping": "counterbalance"}) == "standard"
    # Breaks: after 4 and 8 of 10, never after the last trial, none for 0.
    assert [k for k in range(1, 11) if builder["break_due"](k, 4, 10)] == [4, 8]
    assert [k for k in range(1, 9) if builder["break_due"](k, 4, 8)] == [4]
    assert not any(builder["break_due"](k, 0, 10) for k in range(1, 11))


def test_the_builder_practice_rule_is_the_coder_rule():
    """The practice trials a Builder file chooses are the Coder protocol's, for every design."""
    for design in DESIGNS:
        builder = builder_functions(design, ["practice_trials", "ease"])
        rng = np.random.default_rng(1)
        rows = [{"morph_level": level, "morph_left": a, "morph_right": b, "morph_a": a, "morph_b": b,
                 "pair_separation": int(round(6 * abs(a - b))), "morph_1": a, "morph_2": b, "morph_3": c,
                 **({} if design == "mlds-triads" else {"morph_4": d})}
                for level, a, b, c, d in np.round(rng.integers(0, 7, (15, 5)) / 6, 6)]
        for n in (1, 4, 15):
            chosen = builder["practice_trials"](rows, n, builder["ease"])
            expected = sorted(sorted(range(len(rows)), key=lambda i: (-ease(design, rows[i]), i))[:n])
            assert chosen == [rows[i] for i in expected], (design, n)
