"""Trial designs: balance, blocks, seeded orders, PsychoPy-safe trial files and the trials command."""

import collections
import csv
import json
import os
import types

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _psychopy_env import need_psychopy
from gaia_stim.cli import main
from gaia_stim.designs import design_trials, write_trials
from gaia_stim.core.errors import DataError, InputError, OutputExistsError
from gaia_stim.io.sets import write_stimulus_set

N_STEPS = 7
STIMULI = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / (N_STEPS - 1)} for i in range(N_STEPS)]


@pytest.fixture
def stimulus_set(tmp_path):
    """A real stimulus set (written by the package's writer) shaped like a continuum."""
    images = np.stack([np.full((8, 8, 1), 30 * i, dtype=np.uint8) for i in range(N_STEPS)])
    rows = [
        {"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / (N_STEPS - 1)}
        for i in range(N_STEPS)
    ]
    folder = tmp_path / "set"
    write_stimulus_set(folder, images, rows, {"seed": None}, types.SimpleNamespace(name="test"), kind="continuum")
    return folder


def rows_of(design, reps=3, seed=0, separations=(), no_repeats=True):
    return design_trials(STIMULI, design, reps, np.random.default_rng(seed), separations, no_repeats)


def test_identification_shows_every_level_once_per_block():
    rows = rows_of("identification", reps=4)
    assert len(rows) == 4 * N_STEPS
    assert [row["trial"] for row in rows] == list(range(1, len(rows) + 1))
    for block in range(1, 5):
        steps = sorted(row["step"] for row in rows if row["block"] == block)
        assert steps == list(range(N_STEPS))
    orders = {tuple(row["step"] for row in rows if row["block"] == b) for b in range(1, 5)}
    assert len(orders) > 1, "blocks must be shuffled independently"


def test_2afc_balances_sides_and_marks_the_side_nearer_a():
    rows = rows_of("2afc", reps=2, separations=[2, 3])
    assert len(rows) == 2 * 2 * ((N_STEPS - 2) + (N_STEPS - 3))
    for row in rows:
        assert abs(row["step_left"] - row["step_right"]) == row["separation"]
        nearer_a = "left" if row["morph_left"] < row["morph_right"] else "right"
        assert row["correct_side"] == nearer_a
    pairs = collections.Counter((min(r["step_left"], r["step_right"]), r["separation"], r["correct_side"]) for r in rows)
    assert set(pairs.values()) == {2}, "each pair appears once per block with A-like image on each side"


def test_abx_balances_order_and_x():
    rows = rows_of("abx", reps=1, separations=[3])
    assert len(rows) == 4 * (N_STEPS - 3)
    for row in rows:
        source = row["image_a"] if row["correct_answer"] == "A" else row["image_b"]
        assert row["image_x"] == source
        assert row["morph_x"] == (row["morph_a"] if row["correct_answer"] == "A" else row["morph_b"])
        assert abs(row["morph_a"] - row["morph_b"]) == pytest.approx(3 / (N_STEPS - 1))
    n_pairs = N_STEPS - 3
    assert collections.Counter(row["correct_answer"] for row in rows) == {"A": 2 * n_pairs, "B": 2 * n_pairs}
    assert collections.Counter(row["morph_a"] < row["morph_b"] for row in rows) == {True: 2 * n_pairs, False: 2 * n_pairs}


def test_same_different_is_half_same_and_shows_every_image_equally_often_per_pair():
    rows = rows_of("same-different", reps=1, separations=[1])
    n_pairs = N_STEPS - 1  # each pair gives 2 different and 2 same trials
    assert collections.Counter(row["correct_answer"] for row in rows) == {"same": 2 * n_pairs, "different": 2 * n_pairs}
    for row in rows:
        same = row["image_1"] == row["image_2"]
        assert row["correct_answer"] == ("same" if same else "different")
        assert row["separation"] == (0 if same else 1)
    shown = collections.Counter([r["image_1"] for r in rows] + [r["image_2"] for r in rows])
    # End images belong to one pair, inner images to two: every pair shows each of its images twice.
    assert shown["s0.png"] == 4 and shown["s3.png"] == 8


def test_no_immediate_repeats_across_block_boundaries():
    # Two conditions and many blocks: a boundary repeat would happen half the time by chance.
    two = STIMULI[:2]
    rows = design_trials(two, "identification", 50, np.random.default_rng(0))
    steps = [row["step"] for row in rows]
    assert all(a != b for a, b in zip(steps, steps[1:]))
    allowed = design_trials(two, "identification", 50, np.random.default_rng(0), no_repeats=False)
    steps = [row["step"] for row in allowed]
    assert any(a == b for a, b in zip(steps, steps[1:]))


def test_seed_fixes_the_order():
    assert rows_of("abx", seed=5, separations=[2]) == rows_of("abx", seed=5, separations=[2])
    assert rows_of("abx", seed=5, separations=[2]) != rows_of("abx", seed=6, separations=[2])


@pytest.mark.parametrize(
    "design, reps, separations, message",
    [
        ("triangle", 1, (), "design must be one of"),
        ("identification", 0, (), "reps"),
        ("identification", 1, (2,), "does not apply"),
        ("2afc", 1, (), "needs at least one step separation"),
        ("abx", 1, (N_STEPS,), "outside 1..6"),
        ("same-different", 1, (1.5,), "whole number"),
    ],
)
def test_bad_design_options_raise_one_clear_error(design, reps, separations, message):
    with pytest.raises(InputError, match=message):
        design_trials(STIMULI, design, reps, np.random.default_rng(0), separations)


def test_trial_file_paths_resolve_relative_to_the_trial_file(stimulus_set, tmp_path):
    out = tmp_path / "experiment" / "lists" / "trials.csv"
    n = write_trials(stimulus_set, "2afc", 2, 9, out, separations=[1])["n_trials"]
    table = pd.read_csv(out)
    assert len(table) == n == 2 * 2 * (N_STEPS - 1)
    for column in ("image_left", "image_right"):
        for name in table[column]:
            assert "\\" not in name and not os.path.isabs(name)
            assert (out.parent / name).resolve().is_file(), name
    sidecar = json.loads((out.with_suffix(".json")).read_text())
    assert sidecar["design"] == "2afc" and sidecar["seed"] == 9 and sidecar["separations"] == [1]
    assert sidecar["n_trials"] == n and sidecar["stimulus_set"]["folder"] == "../../set"


def test_same_command_same_bytes(stimulus_set, tmp_path):
    runner = CliRunner()
    outputs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = tmp_path / name / "trials.csv"
        result = runner.invoke(main, ["trials", "--stimuli", str(stimulus_set), "--design", "abx",
                                      "--reps", "3", "--seed", str(seed), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), out.with_suffix(".json").read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[2][0]


def test_every_design_imports_unchanged_with_psychopy(stimulus_set, tmp_path):
    need_psychopy()
    from psychopy import data

    for design in ("identification", "2afc", "abx", "same-different"):
        out = tmp_path / f"{design}.csv"
        separations = () if design == "identification" else (1, 2)
        write_trials(stimulus_set, design, 2, 1, out, separations=separations)
        with open(out, newline="") as handle:
            expected = list(csv.DictReader(handle))
        imported = data.importConditions(str(out))
        assert len(imported) == len(expected)
        for got, want in zip(imported, expected):
            assert list(got) == list(want)
            for name, text in want.items():
                value = got[name]
                if name in ("block", "trial", "step", "step_left", "step_right", "separation", "pair_separation"):
                    assert isinstance(value, (int, np.integer)) and value == int(text), (name, value)
                elif name.startswith("morph"):
                    assert isinstance(value, float) and value == float(text), (name, value)
                else:
                    assert value == text, (name, value)  # text stays text: paths, answers, design


def test_trials_command_errors_are_one_line(stimulus_set, tmp_path):
    runner = CliRunner()
    out = tmp_path / "t.csv"
    base = ["trials", "--stimuli", str(stimulus_set), "--seed", "1", "--out", str(out)]
    assert runner.invoke(main, base + ["--design", "identification"]).exit_code == 0
    again = runner.invoke(main, base + ["--design", "identification"])
    assert again.exit_code == 1 and "--force" in again.output and "Traceback" not in again.output
    assert runner.invoke(main, base + ["--design", "identification", "--force"]).exit_code == 0
    wrong = runner.invoke(main, base + ["--design", "identification", "--separation", "2", "--force"])
    assert wrong.exit_code == 1 and "does not apply" in wrong.output
    too_far = runner.invoke(main, base + ["--design", "2afc", "--separation", "9", "--force"])
    assert too_far.exit_code == 1 and "outside 1..6" in too_far.output
    not_csv = runner.invoke(main, ["trials", "--stimuli", str(stimulus_set), "--design", "abx", "--seed", "1",
                                   "--out", str(tmp_path / "t.txt")])
    assert not_csv.exit_code == 1 and ".csv" in not_csv.output
    empty = tmp_path / "empty"
    empty.mkdir()
    no_set = runner.invoke(main, ["trials", "--stimuli", str(empty), "--design", "abx", "--seed", "1",
                                  "--out", str(tmp_path / "u.csv")])
    assert no_set.exit_code == 1 and "stimuli.csv" in no_set.output


def test_a_set_without_morph_levels_is_refused(tmp_path):
    images = np.zeros((2, 4, 4, 1), dtype=np.uint8)
    rows = [{"image_file": f"images/x{i}.png", "label": f"x{i}"} for i in range(2)]
    write_stimulus_set(tmp_path / "set", images, rows, {}, types.SimpleNamespace(name="t"))
    with pytest.raises(DataError, match="morph_level"):
        write_trials(tmp_path / "set", "identification", 1, 0, tmp_path / "t.csv")


def test_existing_sidecar_is_not_overwritten(stimulus_set, tmp_path):
    out = tmp_path / "t.csv"
    out.with_suffix(".json").write_text("{}")
    with pytest.raises(OutputExistsError):
        write_trials(stimulus_set, "identification", 1, 0, out)
    assert not out.exists()


def test_psychopy_table_bytes_applies_the_stimulus_table_rules_without_image_file():
    from gaia_stim.io.tables import psychopy_table_bytes

    assert psychopy_table_bytes([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]) == b"a,b\n1,x\n2,y\n"
    with pytest.raises(InputError, match="mixes int and float"):
        psychopy_table_bytes([{"a": 1}, {"a": 1.5}])
    with pytest.raises(InputError, match="read as a number"):
        psychopy_table_bytes([{"a": "007"}])
    with pytest.raises(InputError, match="at least one row"):
        psychopy_table_bytes([])


def test_force_replaces_only_a_trial_list_gaia_stim_wrote(stimulus_set, tmp_path):
    import hashlib

    def digest(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    # a user's results.json beside the trial list's name: --force must not take it for the sidecar
    out = tmp_path / "results.csv"
    (tmp_path / "results.json").write_text('{"participant": 1, "accuracy": 0.93}')
    with pytest.raises(OutputExistsError, match="not a trial list's JSON file that gaia-stim wrote"):
        write_trials(stimulus_set, "identification", 1, 0, out, force=True)
    assert json.loads((tmp_path / "results.json").read_text())["accuracy"] == 0.93 and not out.exists()
    # a trial list gaia-stim wrote is replaced; once edited by hand, it is not
    ours = tmp_path / "ours.csv"
    write_trials(stimulus_set, "identification", 1, 0, ours)
    write_trials(stimulus_set, "identification", 2, 0, ours, force=True)
    ours.write_text(ours.read_text() + "\n")
    before = digest(ours)
    with pytest.raises(OutputExistsError, match="changed since"):
        write_trials(stimulus_set, "identification", 1, 0, ours, force=True)
    assert digest(ours) == before


def test_trials_are_never_written_into_a_stimulus_set(stimulus_set):
    table = stimulus_set / "stimuli.csv"
    before = table.read_bytes()
    for out in (table, stimulus_set / "trials.csv", stimulus_set / "images" / "trials.csv"):
        with pytest.raises(OutputExistsError, match="folder gaia-stim wrote as a whole"):
            write_trials(stimulus_set, "identification", 1, 0, out, force=True)
    assert table.read_bytes() == before and not (stimulus_set / "trials.csv").exists()


@pytest.mark.parametrize("name, message", [
    ("../../../../etc/passwd", "outside the stimulus set"), ("/etc/passwd", "outside the stimulus set"),
    ("images/../../outside.png", "outside the stimulus set"),
])
def test_a_table_naming_files_outside_its_set_is_refused(stimulus_set, tmp_path, name, message):
    (tmp_path / "outside.png").write_bytes(b"not yours to list")
    table = stimulus_set / "stimuli.csv"
    lines = table.read_text().splitlines()
    first = lines[1].split(",")
    first[lines[0].split(",").index("image_file")] = name
    table.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    with pytest.raises(DataError, match=message):
        write_trials(stimulus_set, "identification", 1, 0, tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()


def test_2afc_correct_side_follows_the_morph_level_not_the_step_number(tmp_path):
    # A set whose step numbers run against its morph levels (step 0 is the B end): the correct image
    # is the one with the lower morph level as the set's table gives it, whatever its step number.
    images = np.stack([np.full((8, 8, 1), 30 * i, dtype=np.uint8) for i in range(N_STEPS)])
    rows = [{"image_file": f"images/x{i}.png", "step": i, "morph_level": (N_STEPS - 1 - i) / (N_STEPS - 1)}
            for i in range(N_STEPS)]
    folder = tmp_path / "set"
    write_stimulus_set(folder, images, rows, {"seed": None}, types.SimpleNamespace(name="test"), kind="continuum")
    level_of = {f"../set/{row['image_file']}": row["morph_level"] for row in rows}
    out = tmp_path / "lists" / "trials.csv"
    write_trials(folder, "2afc", 1, 0, out, separations=[1, 3])
    table = pd.read_csv(out)
    assert len(table) == 2 * ((N_STEPS - 1) + (N_STEPS - 3))
    for _, trial in table.iterrows():
        left, right = level_of[trial["image_left"]], level_of[trial["image_right"]]
        assert (trial["morph_left"], trial["morph_right"]) == (left, right)
        assert trial["correct_side"] == ("left" if left < right else "right")


def test_the_largest_separation_pairs_the_first_image_with_the_last():
    rows = rows_of("2afc", reps=1, separations=[N_STEPS - 1], no_repeats=False)  # one pair: it must repeat
    assert sorted((row["image_left"], row["image_right"], row["correct_side"]) for row in rows) == [
        ("s0.png", f"s{N_STEPS - 1}.png", "left"), (f"s{N_STEPS - 1}.png", "s0.png", "right")]


def test_the_sidecar_hashes_are_those_of_the_files_named(stimulus_set, tmp_path):
    import hashlib

    out = tmp_path / "trials.csv"
    write_trials(stimulus_set, "abx", 1, 0, out, separations=[2])
    sidecar = json.loads(out.with_suffix(".json").read_text())
    digest = {path: hashlib.sha256(path.read_bytes()).hexdigest()
              for path in (stimulus_set / "stimuli.csv", stimulus_set / "manifest.json", out)}
    assert sidecar["stimulus_set"]["table_sha256"] == digest[stimulus_set / "stimuli.csv"]
    assert sidecar["stimulus_set"]["manifest_sha256"] == digest[stimulus_set / "manifest.json"]
    assert sidecar["trial_file"] == {"file": "trials.csv", "sha256": digest[out]}
