"""The protocols as a lab runs them: screens, practice, breaks, deadlines, keys, saving, the window.

Sessions with a person run in a private Xvfb server while a :class:`KeyPresser` presses keys in
the protocol's window through XTEST, prompted by the protocol's own log, so PsychoPy's keyboard
reads real key events: reaction times, keys pressed while an image is still shown, timeouts,
Escape. Sessions that only need answers use the simulated observer. The option parsing, the
instructions files and the choice of practice trials are checked without PsychoPy.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from _psychopy_env import KeyPresser, run_in_window, virtual_display
from conftest import load_protocol
from gaia_stim.cli import main
from gaia_stim.io.sets import write_stimulus_set
from gaia_stim.stimuli.lowlevel import Adjustment

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
SCRIPTS = {"identification": "identification.py", "2afc": "2afc.py", "abx": "abx.py",
           "same-different": "same_different.py"}
N_STEPS = 7
BORDER = 153  # the synthetic set's plain grey (0.6), round a disc that darkens along the continuum


def synthetic_set(folder, adjust=None):
    """A 7-step continuum of 40x40 images: a disc from light to dark on a plain grey border."""
    y, x = np.mgrid[0:40, 0:40]
    disc = np.hypot(x - 19.5, y - 19.5) < 12
    images = []
    for step in range(N_STEPS):
        image = np.full((40, 40, 1), BORDER, dtype=np.uint8)
        image[disc] = 230 - 30 * step
        images.append(image)
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / (N_STEPS - 1)}
            for i in range(N_STEPS)]
    write_stimulus_set(folder, np.stack(images), rows, {"seed": None}, types.SimpleNamespace(name="test"),
                       kind="continuum", adjust=adjust)
    return folder


@pytest.fixture(scope="module")
def stimulus_set(tmp_path_factory):
    return synthetic_set(tmp_path_factory.mktemp("session") / "set")


def trial_list(stimulus_set, design, out, reps=2, separation=2):
    command = ["trials", "--stimuli", str(stimulus_set), "--design", design, "--reps", str(reps), "--seed", "3",
               "--out", str(out)]
    if design != "identification":
        command += ["--separation", str(separation)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    return out


def read_data(data_dir):
    [path] = list(Path(data_dir).glob("*.csv"))
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 with a byte-order mark, as PsychoPy's CSVs
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=True)


def log_lines(data_dir):
    [path] = list(Path(data_dir).glob("*.log"))
    return path.read_text().splitlines()


def run_with_person(display, arguments, plan, data_dir, timeout=300):
    """Run ``python ARGUMENTS`` on ``display`` while a KeyPresser follows ``plan``; (result, presses)."""
    presser = KeyPresser(display, data_dir, plan)
    presser.start()
    try:
        result = subprocess.run([sys.executable, *map(str, arguments)], capture_output=True, text=True,
                                timeout=timeout, env={**os.environ, "DISPLAY": display})
    finally:
        presser.stop()
    return result, presser.pressed


# Without PsychoPy: options, instructions, practice -------------------------------------------------

@pytest.mark.parametrize("script", list(SCRIPTS.values()))
def test_help_shows_the_protocols_own_options(script):
    """PsychoPy's preferences parser reads sys.argv when it is imported; --help must come first."""
    result = subprocess.run([sys.executable, str(PROTOCOLS / script), "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    for option in ("--practice", "--break-every", "--response-timeout", "--instructions", "--monitor", "--units"):
        assert option in result.stdout
    assert "PsychoPy Preferences" not in result.stdout and "--prefs-json" not in result.stdout


@pytest.mark.parametrize("participant, mapping", [("P01", "standard"), ("P02", "swapped"), ("s-17", "standard"),
                                                  ("2024_p8", "swapped")])
def test_counterbalance_maps_participant_parity_to_the_key_mapping(participant, mapping):
    protocol, _protocol, _ = load_protocol("abx.py")
    args = _protocol.parse_arguments(protocol, ["t.csv", "--participant", participant, "--counterbalance"])
    assert args.key_mapping == mapping
    assert args.keys == (("left", "right") if mapping == "standard" else ("right", "left"))
    args = _protocol.parse_arguments(protocol, ["t.csv", "--keys", "f", "j", "--swap-keys"])
    assert (args.keys, args.key_mapping) == (("j", "f"), "swapped")


@pytest.mark.parametrize("argv, message", [
    (["--counterbalance", "--participant", "anna"], "needs a number in --participant"),
    (["--counterbalance", "--swap-keys"], "leave out --swap-keys"),
    (["--keys", "space", "j"], "neither space"),
    (["--units", "deg"], "give --size in deg"),
    (["--fast"], "--fast needs --simulate"),
    (["--participant", "../x"], "go into file names"),
])
def test_bad_options_are_refused_before_a_window_opens(argv, message, capsys):
    protocol, _protocol, _ = load_protocol("same_different.py")
    with pytest.raises(SystemExit):
        _protocol.parse_arguments(protocol, ["t.csv", *argv])
    assert message in capsys.readouterr().err


def test_2afc_keys_name_sides_and_cannot_be_swapped(capsys):
    protocol, _protocol, _ = load_protocol("2afc.py")
    with pytest.raises(SystemExit):
        _protocol.parse_arguments(protocol, ["t.csv", "--swap-keys"])
    assert "unrecognized arguments: --swap-keys" in capsys.readouterr().err


def test_every_shipped_instructions_file_fills_in_the_keys_in_use():
    for design, script in SCRIPTS.items():
        protocol, _protocol, _instructions = load_protocol(script)
        path = _instructions.default_file(design)
        assert Path(path).is_file()
        swapped = dict(zip(protocol.KEY_ROLES, protocol.KEYS[::-1]))
        texts = _instructions.Texts(path, swapped, n_trials=20, n_practice=4)
        start = texts.text("start")
        first, second = (_instructions.key_label(key) for key in protocol.KEYS[::-1])
        assert first in start and second in start and "SPACE" in start
        assert start.index(first) < start.index(second), "the roles' keys appear in the order of KEY_ROLES"
        assert "#" not in start, "notes for the experimenter are not shown"
        assert "4 practice trials" in texts.text("practice")
        assert "7 of 20" in texts.text("break", trial=7)


def test_an_instructions_file_may_hold_only_some_screens(tmp_path):
    _, _, _instructions = load_protocol("identification.py")
    path = tmp_path / "de.txt"
    path.write_text("# Deutsch\nDrücken Sie {key_a} für A und {key_b} für B.\n\nLeertaste: Start\n", encoding="utf-8")
    texts = _instructions.Texts(str(path), {"key_a": "f", "key_b": "j"}, n_trials=10, n_practice=0)
    assert texts.text("start") == "Drücken Sie F für A und J für B.\n\nLeertaste: Start"
    assert texts.text("end") == _instructions.DEFAULT_SCREENS["end"]


@pytest.mark.parametrize("text, message", [
    ("[start]\nPress {key_c}\n", "uses {key_c}, which is not one of"),
    ("[begin]\nhello\n", "unknown screen [begin]"),
    ("[start]\na\n[start]\nb\n", "appears twice"),
])
def test_a_misspelt_instructions_file_is_refused_with_the_names_it_knows(tmp_path, text, message):
    _, _, _instructions = load_protocol("identification.py")
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        _instructions.Texts(str(path), {"key_a": "left", "key_b": "right"}, n_trials=1, n_practice=0)


def test_practice_takes_the_easiest_trials_in_the_lists_order(stimulus_set, tmp_path):
    identification, _protocol, _ = load_protocol("identification.py")
    rows = pd.read_csv(trial_list(stimulus_set, "identification", tmp_path / "id.csv", reps=3)).to_dict("records")
    practice = _protocol.practice_trials(rows, 4, identification.ease)
    assert sorted(row["morph_level"] for row in practice) == [0.0, 0.0, 1.0, 1.0]  # the two ends, twice
    assert practice == [row for row in rows if row["morph_level"] in (0.0, 1.0)][:4]
    abx, _, _ = load_protocol("abx.py")
    rows = pd.read_csv(trial_list(stimulus_set, "abx", tmp_path / "abx.csv", separation=3)).to_dict("records")
    assert _protocol.practice_trials(rows, 5, abx.ease) == rows[:5]  # one separation: all equally easy


# With a person (keys through XTEST) ---------------------------------------------------------------

DELAY = 0.15  # the person answers this long after the display the answer belongs to appears


def test_a_session_with_a_person(stimulus_set, tmp_path):
    """Instructions, practice with feedback, counterbalanced keys, breaks, timeouts and RTs."""
    trials = trial_list(stimulus_set, "identification", tmp_path / "id.csv")  # 14 trials
    data_dir, shots = tmp_path / "data", tmp_path / "shots"
    skipped = {3, 8}  # main trials the person lets time out

    def plan(line):
        if "screen: awaiting space" in line:
            return [(0.05, "space")]
        match = re.search(r"(practice|main) trial (\d+) of \d+: awaiting", line)
        if match and not (match.group(1) == "main" and int(match.group(2)) in skipped):
            return [(DELAY, "right")]
        return None

    with virtual_display() as display:
        result, pressed = run_with_person(display, [
            PROTOCOLS / "identification.py", trials, "--participant", "P02", "--counterbalance",
            "--data-dir", data_dir, "--practice", 2, "--feedback", "--break-every", 5, "--response-timeout", 0.6,
            "--fixation", 0, "--feedback-duration", 0.1, "--screenshots", shots,
        ], plan, data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "session completed after 14 of 14 trials" in result.stdout

    table = read_data(data_dir)
    assert list(table["is_practice"]) == [1, 1] + [0] * 14
    practice, main_trials = table[table["is_practice"] == 1], table[table["is_practice"] == 0]
    assert sorted(practice["morph_level"]) == [0.0, 1.0]  # the easiest trials: the two ends
    assert list(main_trials["trial_number"]) == list(range(1, 15))
    # P02 is even: the keys are swapped, and RIGHT now means A.
    assert set(table["key_mapping"]) == {"swapped"} and set(table["key_a"]) == {"right"}

    timed_out = main_trials["trial_number"].isin(skipped)
    assert (main_trials.loc[timed_out, "timed_out"] == 1).all()
    assert main_trials.loc[timed_out, ["response", "rt", "chose_b", "correct"]].isna().all().all()
    answered = table[table["timed_out"] == 0]
    assert len(answered) == 14
    assert (answered["response"] == "right").all() and (answered["chose_b"] == 0).all()
    # RTs count from the image's onset flip, which the image stays up for until the answer.
    assert answered["rt"].between(DELAY, DELAY + 1.0).all(), answered["rt"].tolist()
    # (The image goes at the first flip after the answer is read: a frame later, more on a busy machine.)
    shown = answered["offset_image"] - answered["onset_image"]
    assert np.allclose(shown, answered["rt"], atol=0.15), (shown - answered["rt"]).tolist()
    late = main_trials[timed_out]
    assert (late["offset_image"] - late["onset_image"]).between(0.6, 0.75).all()

    # Every row carries PsychoPy's info fields and the stimulus set's sha256 from the list's JSON.
    sidecar = json.loads(trials.with_suffix(".json").read_text())
    assert set(table["set_manifest_sha256"]) == {sidecar["stimulus_set"]["manifest_sha256"]}
    assert set(table["participant"]) == {"P02"} and set(table["expName"]) == {"identification"}
    for column in ("date", "frameRate", "psychopyVersion", "session"):
        assert table[column].notna().all()

    log = log_lines(data_dir)
    assert sum("break screen: awaiting space" in line for line in log) == 2  # after trials 5 and 10
    assert sum("start screen: awaiting space" in line for line in log) == 1
    assert any("no answer within 0.6 s" in line for line in log)
    # Practice: level 0 answered A (right) is correct, level 1 answered A is wrong; the skips were too slow.
    for name in ("start", "practice", "main", "break", "end", "feedback", "feedback_wrong", "feedback_too_slow",
                 "stimulus_image"):
        assert (shots / f"{name}.png").is_file(), name


@pytest.mark.parametrize("design, last, key", [("abx", "x", "right"), ("same-different", "2", "d")])
def test_an_answer_while_the_last_image_is_shown_counts_and_escape_keeps_the_data(stimulus_set, tmp_path, design,
                                                                                   last, key):
    trials = trial_list(stimulus_set, design, tmp_path / "list.csv", separation=3)
    data_dir = tmp_path / "data"
    wrong_key = "left" if design == "abx" else "s"
    first = "a" if design == "abx" else "1"

    def plan(line):
        if "screen: awaiting space" in line:
            return [(0.05, "space")]
        onset = re.search(r"main trial (\d+) of \d+: (\w+) onset", line)
        if onset and onset.group(1) == "3":
            return [(0.05, "escape")]
        if onset and onset.group(1) == "1" and onset.group(2) == first:
            return [(0.05, wrong_key)]  # too early: before the image the answer belongs to
        if re.search(r"main trial [12] of \d+: awaiting", line):
            return [(DELAY, key)]
        return None

    with virtual_display() as display:
        result, _ = run_with_person(display, [
            PROTOCOLS / SCRIPTS[design], trials, "--participant", "P01", "--data-dir", data_dir,
            "--duration", 2.0, "--isi", 0.2, "--fixation", 0,
        ], plan, data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "session ended with escape after 2 of" in result.stdout
    table = read_data(data_dir)
    assert list(table["trial_number"]) == [1, 2]  # the finished trials, none of the escaped one
    assert (table["response"] == key).all()  # the early key was discarded
    # Pressed while the last image was still up (it stays 2 s): the answer counts and ends it.
    assert table["rt"].between(DELAY, 1.5).all(), table["rt"].tolist()
    shown = table[f"offset_{last}"] - table[f"onset_{last}"]
    assert np.allclose(shown, table["rt"], atol=0.15), (shown - table["rt"]).tolist()
    # Each earlier image is up for 2 s in whole frames of the session's frame rate (Xvfb does not
    # pace its flips, so the frames, not their times, are what can be checked here).
    frames = [int(match.group(1)) for line in log_lines(data_dir)
              for match in [re.search(f": {first} onset, (\\d+) frames", line)] if match]
    assert frames and set(frames) == {round(2.0 * table["frameRate"].iloc[0])}
    order = table[[f"onset_{first}", f"offset_{first}", f"onset_{last}", f"offset_{last}"]].to_numpy()
    assert (np.diff(order, axis=1) >= 0).all()


# Saving -----------------------------------------------------------------------------------------

def simulated_session(display, stimulus_set, tmp_path, reps=150):
    """A long simulated session, started and left running once 5 trials are in its CSV."""
    trials = trial_list(stimulus_set, "identification", tmp_path / "long.csv", reps=reps)
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, str(PROTOCOLS / "identification.py"), str(trials), "--participant", "sim",
         "--data-dir", str(data_dir), "--simulate", "--fast", "--window-size", "300", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "DISPLAY": display},
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        files = list(data_dir.glob("*.csv"))
        if files and files[0].read_bytes().count(b"\n") >= 6:  # the header and 5 trials
            return process, data_dir
        if process.poll() is not None:
            pytest.fail("the session ended early:\n" + process.stdout.read() + process.stderr.read())
        time.sleep(0.02)
    process.kill()
    pytest.fail("no 5 trials within 240 s")


def finished_trials(data_dir):
    return [int(match.group(1)) for line in log_lines(data_dir)
            for match in [re.search(r"gaia-stim: main trial (\d+) of \d+ done", line)] if match]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_stopped_session_keeps_every_finished_trial(stimulus_set, tmp_path, how):
    """SIGTERM ends the session through its handler (data saved, window closed, status 143); even
    SIGKILL, which nothing can handle, leaves every trial the log calls finished in the CSV."""
    with virtual_display() as display:
        process, data_dir = simulated_session(display, stimulus_set, tmp_path)
        process.send_signal(getattr(signal, how))
        process.communicate(timeout=120)
    assert process.returncode == (143 if how == "SIGTERM" else -signal.SIGKILL)
    table = read_data(data_dir)
    finished = finished_trials(data_dir)
    # 5 trials were in the CSV before the signal; the log line of a trial follows its CSV row, so a
    # SIGKILL may leave the log one trial behind the CSV, never ahead of it
    assert len(table) >= 5 and len(finished) >= 4 and len(table) < 7 * 150, "the signal came mid-session"
    assert set(finished) <= set(table["trial_number"]), "a finished trial is missing from the data file"
    assert list(table["trial_number"]) == list(range(1, len(table) + 1))
    assert table["chose_b"].notna().all(), "every row is a whole trial"
    if how == "SIGTERM":
        assert any("session stopped by SIGTERM" in line for line in log_lines(data_dir))
        assert list(data_dir.glob("*.psydat")), "the ExperimentHandler is saved too"
        assert len(table) == len(finished)


# The window ------------------------------------------------------------------------------------

def stimulus_screenshot(trials, tmp_path, *options):
    shots = tmp_path / "shots"
    run_in_window([PROTOCOLS / "identification.py", trials, "--participant", "sim", "--data-dir",
                   tmp_path / "data", "--simulate", "--fast", "--window-size", 400, 300, "--screenshots", shots,
                   *options])
    return np.asarray(Image.open(shots / "stimulus_image.png").convert("RGB"), dtype=np.int64), read_data(tmp_path / "data")


def test_the_window_is_the_sets_grey_so_no_square_shows(stimulus_set, tmp_path):
    trials = trial_list(stimulus_set, "identification", tmp_path / "id.csv", reps=1)
    frame, table = stimulus_screenshot(trials, tmp_path)
    assert table["background_source"].iloc[0].startswith("image borders")
    # The image is 0.4 window heights (120 px) in the middle: outside its disc, nothing may differ
    # from the window's grey by more than rounding, at its edge included.
    outside = np.ones(frame.shape[:2], bool)
    y, x = np.mgrid[0:300, 0:400]
    outside[np.hypot(x - 199.5, y - 149.5) < 12 / 40 * 120 + 3] = False
    assert np.abs(frame[outside] - BORDER).max() <= 1, np.abs(frame[outside] - BORDER).max()
    assert (np.abs(frame - BORDER).max(axis=2) > 10).sum() > 1000, "the disc is drawn"


def test_a_masked_sets_grey_comes_from_its_manifest(tmp_path):
    masked = synthetic_set(tmp_path / "masked", adjust=Adjustment(mask="circle", background=0.3))
    trials = trial_list(masked, "identification", tmp_path / "id.csv", reps=1)
    frame, table = stimulus_screenshot(trials, tmp_path)
    assert table["background_source"].iloc[0] == "manifest (ground.level)"
    assert np.abs(frame[:20, :20] - round(0.3 * 255)).max() <= 1


def test_sizes_in_degrees_follow_the_monitor(stimulus_set, tmp_path):
    """4 degrees at 57 cm on a 40 cm, 1024-pixel-wide screen: 4 * 57 * pi / 180 cm * 1024 / 40 px."""
    trials = trial_list(stimulus_set, "identification", tmp_path / "id.csv", reps=1)
    frame, table = stimulus_screenshot(trials, tmp_path, "--units", "deg", "--size", 4, "--distance-cm", 57,
                                       "--width-cm", 40, "--resolution", 400, 300, "--background", 0)
    expected = 4 * 57 * np.pi / 180 * 400 / 40  # pixels: the resolution is the window's here
    drawn = np.flatnonzero(frame.max(axis=2).max(axis=0) > 30)  # the image's columns (its border is 0.6 grey)
    assert abs(len(drawn) - expected) <= 2, (len(drawn), expected)
    assert table["units"].iloc[0] == "deg" and table["monitor_distance_cm"].iloc[0] == 57
