"""Trial lists: no consecutive trials show the same images, every image's showings are counted (and
can be evened out), and any set with a numeric level column gives trials (a grid: 2-D identification).

Expected counts are worked out by hand in each test from the pairs a design makes; the images a
trial shows are read from the columns each design is documented to have, not from the code's own
helper.
"""

import collections
import itertools
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.designs import design_trials, write_trials
from gaia_stim.designs.orders import _constrained_order
from gaia_stim.io.sets import write_stimulus_set

# The columns holding the images each design shows, one per showing (docs/psychopy.md, section 1).
IMAGE_COLUMNS = {
    "identification": ("image_file",),
    "2afc": ("image_left", "image_right"),
    "abx": ("image_a", "image_b", "image_x"),
    "same-different": ("image_1", "image_2"),
}
PAIR_DESIGNS = ("2afc", "abx", "same-different")


def continuum(n):
    return [{"image_file": f"s{i}.png", "step": i, "morph_level": i / (n - 1)} for i in range(n)]


def images_of(row):
    return frozenset(row[column] for column in IMAGE_COLUMNS[row["design"]])


def showings(rows):
    return collections.Counter(row[column] for row in rows for column in IMAGE_COLUMNS[row["design"]])


def per_image(rows, n):
    counts = showings(rows)
    return [counts[f"s{i}.png"] for i in range(n)]


def condition(row):
    return tuple(sorted((k, v) for k, v in row.items() if k not in ("block", "trial")))


# ------------------------------------------------------------------------------------------
# 1. no two consecutive trials show the same images


# (design, n images, separations): short and long continua, one and several separations, pairs
# that reach every image and pairs that miss the middle one (5 images, 3 apart).
CASES = [("identification", n, ()) for n in (2, 3, 5, 11)] + [
    (design, n, separations)
    for design in PAIR_DESIGNS
    for n, separations in ((3, (1,)), (4, (2,)), (5, (3,)), (6, (1, 2)), (7, (2,)), (11, (2,)), (11, (1, 3, 5)),
                           (12, (4,)))
]


@pytest.mark.parametrize("balance", [False, True])
@pytest.mark.parametrize("design, n, separations", CASES)
def test_no_two_consecutive_trials_show_the_same_images(design, n, separations, balance):
    stimuli = continuum(n)
    boundaries = 0
    for seed in range(200):
        rows = design_trials(stimuli, design, 4, np.random.default_rng(seed), separations, balance_images=balance)
        for before, after in zip(rows, rows[1:]):
            assert images_of(before) != images_of(after), (seed, before, after)
            boundaries += before["block"] != after["block"]
        # Every block holds the same conditions: the rule reorders, it never drops or repeats one.
        blocks = [sorted(condition(r) for r in rows if r["block"] == b) for b in range(1, 5)]
        assert all(block == blocks[0] for block in blocks)
    assert boundaries == 200 * 3


def test_same_different_no_longer_repeats_a_same_trial():
    # An image in two pairs gives two identical "same" trials per block: a plain shuffle puts them
    # back to back in most lists, the constrained order never.
    stimuli = continuum(11)
    identical = {True: 0, False: 0}
    for no_repeats in (True, False):
        for seed in range(100):
            rows = design_trials(stimuli, "same-different", 10, np.random.default_rng(seed), (2,), no_repeats)
            identical[no_repeats] += sum(condition(a) == condition(b) for a, b in zip(rows, rows[1:]))
    assert identical[True] == 0 and identical[False] > 100


@pytest.mark.parametrize("design", ["2afc", "abx"])
def test_a_plain_shuffle_shows_the_same_pair_back_to_back(design):
    """What the rule prevents happens often without it (so the tests above can fail)."""
    rows = design_trials(continuum(11), design, 20, np.random.default_rng(0), (2,), no_repeats=False)
    assert sum(images_of(a) == images_of(b) for a, b in zip(rows, rows[1:])) > 5


def test_when_only_alternation_is_possible_it_is_found():
    # abx over 4 images 2 apart: pairs (0, 2) and (1, 3), 4 trials each per block; the only orders
    # alternate the two pairs, across every block boundary too.
    seen = set()
    for seed in range(200):
        rows = design_trials(continuum(4), "abx", 3, np.random.default_rng(seed), (2,))
        pairs = [min(row["image_a"], row["image_b"]) for row in rows]
        assert pairs in (["s0.png", "s1.png"] * 12, ["s1.png", "s0.png"] * 12)
        seen.add(pairs[0])
    assert seen == {"s0.png", "s1.png"}


def test_two_images_alternate_over_many_blocks():
    rows = design_trials(continuum(2), "identification", 100, np.random.default_rng(3))
    steps = [row["step"] for row in rows]
    assert steps in ([0, 1] * 100, [1, 0] * 100)


@pytest.mark.parametrize("design", ["2afc", "abx"])
def test_one_pair_cannot_keep_the_rule_and_says_so(design):
    # 5 images 4 apart: the single pair (0, 4); every trial of a block shows it.
    with pytest.raises(InputError, match="--allow-repeats") as error:
        design_trials(continuum(5), design, 2, np.random.default_rng(0), (4,))
    assert "s0.png and s4.png" in str(error.value) and "\n" not in str(error.value)
    rows = design_trials(continuum(5), design, 2, np.random.default_rng(0), (4,), no_repeats=False)
    assert len(rows) == 2 * (2 if design == "2afc" else 4)


def test_same_different_with_one_pair_still_keeps_the_rule():
    # (0, 1), (1, 0), (0, 0), (1, 1): the two "different" trials share their images, so they are
    # always split by a "same" trial.
    for seed in range(200):
        rows = design_trials(continuum(2), "same-different", 5, np.random.default_rng(seed), (1,))
        assert len(rows) == 20
        assert all(images_of(a) != images_of(b) for a, b in zip(rows, rows[1:]))


def _orderable_by_brute_force(keys, previous):
    return any(
        all(keys[a] != keys[b] for a, b in zip(order, order[1:])) and keys[order[0]] != previous
        for order in itertools.permutations(range(len(keys)))
    )


def test_the_constrained_order_exists_exactly_when_some_order_exists():
    """Every multiset of up to 7 trials over 3 kinds: an order is found iff brute force finds one."""
    checked = 0
    for n in range(1, 8):
        for keys in {tuple(sorted(k)) for k in itertools.product("abc", repeat=n)}:
            for previous in (None, "a", "b"):
                expected = _orderable_by_brute_force(keys, previous)
                for seed in range(3):
                    order = _constrained_order(list(keys), previous, np.random.default_rng(seed))
                    assert (order is not None) == expected, (keys, previous)
                    if order is not None:
                        assert sorted(order) == list(range(n))
                        assert keys[order[0]] != previous
                        assert all(keys[a] != keys[b] for a, b in zip(order, order[1:]))
                checked += 1
    assert checked > 300


def test_allow_repeats_keeps_the_plain_shuffle():
    """--allow-repeats: each block a numpy permutation of the record's conditions, as before."""
    from gaia_stim.designs.records import DESIGNS

    rows = design_trials(continuum(7), "2afc", 3, np.random.default_rng(4), (2,), no_repeats=False)
    conditions = DESIGNS["2afc"].conditions(continuum(7), [2])
    rng = np.random.default_rng(4)
    expected = [conditions[i] for _ in range(3) for i in rng.permutation(len(conditions))]
    assert [{name: row[name] for name in expected[0]} for row in rows] == expected


# ------------------------------------------------------------------------------------------
# 2. how often each image is shown


def test_end_images_are_shown_less_often_unless_balanced():
    # 7 images, pairs 2 apart: (0,2) (1,3) (2,4) (3,5) (4,6). Images 0, 1, 5, 6 are in one pair,
    # 2, 3, 4 in two. A 2afc pair is shown twice (sides swapped): 2 or 4 showings per block.
    rows = design_trials(continuum(7), "2afc", 3, np.random.default_rng(0), (2,))
    assert len(rows) == 3 * 2 * 5
    assert per_image(rows, 7) == [6, 6, 12, 12, 12, 6, 6]
    # Balanced: the images short of a pair (0, 1, 5, 6), first half with second half: (0, 5) and
    # (1, 6), 5 steps apart. Every image is then in two pairs: 4 showings per block.
    balanced = design_trials(continuum(7), "2afc", 3, np.random.default_rng(0), (2,), balance_images=True)
    assert len(balanced) == 3 * 2 * 7
    assert per_image(balanced, 7) == [12] * 7
    added = {(min(r["step_left"], r["step_right"]), max(r["step_left"], r["step_right"]), r["separation"])
             for r in balanced if r["balancing"] == 1}
    assert added == {(0, 5, 5), (1, 6, 5)}
    assert collections.Counter(r["balancing"] for r in balanced) == {0: 3 * 10, 1: 3 * 4}
    for row in balanced:  # the added pairs are ordinary 2afc trials: lower level = the correct side
        assert row["correct_side"] == ("left" if row["morph_left"] < row["morph_right"] else "right")


def test_abx_and_same_different_counts_by_hand():
    # abx, 7 images 2 apart: per pair 4 trials (A/B order x X), each image 2 + 1 + 1 + 2 = 6 showings.
    abx = design_trials(continuum(7), "abx", 2, np.random.default_rng(1), (2,))
    assert per_image(abx, 7) == [12, 12, 24, 24, 24, 12, 12]
    abx = design_trials(continuum(7), "abx", 2, np.random.default_rng(1), (2,), balance_images=True)
    assert per_image(abx, 7) == [24] * 7 and len(abx) == 2 * 4 * 7
    # same-different, 7 images 1 apart: pairs (i, i+1), i = 0..5; per pair (lo,hi) (hi,lo) (lo,lo)
    # (hi,hi): each image 4 showings per pair. Ends in one pair, the rest in two. Balanced: (0, 6).
    same_different = design_trials(continuum(7), "same-different", 1, np.random.default_rng(1), (1,))
    assert per_image(same_different, 7) == [4, 8, 8, 8, 8, 8, 4]
    same_different = design_trials(continuum(7), "same-different", 1, np.random.default_rng(1), (1,),
                                   balance_images=True)
    assert per_image(same_different, 7) == [8] * 7 and len(same_different) == 4 * 7
    assert collections.Counter(r["correct_answer"] for r in same_different) == {"same": 14, "different": 14}


def test_an_image_no_pair_reaches_is_balanced_too():
    # 5 images 3 apart: (0, 3), (1, 4); image 2 is in none. Shortfalls against 2 pairs each:
    # [1, 1, 2, 1, 1], slots 0 1 2 2 3 4 -> (0, 2), (1, 3), (2, 4).
    rows = design_trials(continuum(5), "2afc", 1, np.random.default_rng(0), (3,))
    assert per_image(rows, 5) == [2, 2, 0, 2, 2]
    balanced = design_trials(continuum(5), "2afc", 1, np.random.default_rng(0), (3,), balance_images=True)
    assert per_image(balanced, 5) == [4] * 5
    added = {(min(r["step_left"], r["step_right"]), max(r["step_left"], r["step_right"]))
             for r in balanced if r["balancing"] == 1}
    assert added == {(0, 2), (1, 3), (2, 4)}


def test_several_separations_are_balanced_together():
    # 7 images 1 and 2 apart: pairs per image [2,3,4,4,4,3,2]; shortfalls [2,1,0,0,0,1,2], slots
    # 0 0 1 5 6 6 -> (0, 5), (0, 6), (1, 6). 2afc: 2 * (6 + 5 + 3) trials, 8 showings each.
    balanced = design_trials(continuum(7), "2afc", 1, np.random.default_rng(0), (1, 2), balance_images=True)
    assert len(balanced) == 28 and per_image(balanced, 7) == [8] * 7
    added = collections.Counter((min(r["step_left"], r["step_right"]), max(r["step_left"], r["step_right"]))
                                for r in balanced if r["balancing"] == 1)
    assert added == {(0, 5): 2, (0, 6): 2, (1, 6): 2}


def test_identification_is_already_balanced():
    rows = design_trials(continuum(6), "identification", 3, np.random.default_rng(0), balance_images=True)
    assert per_image(rows, 6) == [3] * 6 and "balancing" not in rows[0]


# ------------------------------------------------------------------------------------------
# stimulus sets on disk


def write_set(folder, rows, kind="continuum", parameters=None):
    images = np.stack([np.full((8, 8, 1), 20 * i, dtype=np.uint8) for i in range(len(rows))])
    write_stimulus_set(folder, images, rows, parameters or {"seed": None}, types.SimpleNamespace(name="test"),
                       kind=kind)
    return folder


@pytest.fixture
def seven(tmp_path):
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / 6} for i in range(7)]
    return write_set(tmp_path / "set", rows)


def run(*args):
    return CliRunner().invoke(main, ["trials", *map(str, args)])


def test_the_sidecar_counts_every_image_and_the_command_notes_unequal_counts(seven, tmp_path):
    out = tmp_path / "t.csv"
    result = run("--stimuli", seven, "--design", "2afc", "--reps", 3, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "6 to 12 times" in notes[0] and "--balance-images" in notes[0]
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert [c["shown"] for c in sidecar["image_counts"]] == [6, 6, 12, 12, 12, 6, 6]
    assert [c["image_file"] for c in sidecar["image_counts"]] == [f"set/images/step_{i:02d}.png" for i in range(7)]
    assert [c["morph_level"] for c in sidecar["image_counts"]] == [i / 6 for i in range(7)]
    assert sidecar["image_counts_equal"] is False and sidecar["level_columns"] == ["morph_level"]
    assert sidecar["no_repeats"] is True and sidecar["balance_images"] is False
    table = pd.read_csv(out)
    assert collections.Counter(list(table["image_left"]) + list(table["image_right"])) == {
        c["image_file"]: c["shown"] for c in sidecar["image_counts"]}

    balanced = run("--stimuli", seven, "--design", "2afc", "--reps", 3, "--seed", 1, "--balance-images",
                   "--out", out, "--force")
    assert balanced.exit_code == 0 and "note:" not in balanced.output
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert [c["shown"] for c in sidecar["image_counts"]] == [12] * 7 and sidecar["image_counts_equal"] is True
    assert sidecar["balance_images"] is True and set(pd.read_csv(out)["balancing"]) == {0, 1}


def test_an_image_never_shown_is_listed_with_zero(tmp_path):
    rows = [{"image_file": f"images/s{i}.png", "step": i, "morph_level": i / 4} for i in range(5)]
    folder = write_set(tmp_path / "five", rows)
    result = run("--stimuli", folder, "--design", "abx", "--separation", 3, "--reps", 1, "--seed", 0,
                 "--out", tmp_path / "t.csv")
    assert result.exit_code == 0, result.output
    assert "1 of them never" in result.output
    counts = json.loads((tmp_path / "t.json").read_text())["image_counts"]
    assert [c["shown"] for c in counts] == [6, 6, 0, 6, 6]


def test_one_pair_is_refused_in_one_line(seven, tmp_path):
    result = run("--stimuli", seven, "--design", "2afc", "--separation", 6, "--seed", 0, "--out", tmp_path / "t.csv")
    assert result.exit_code == 1 and "--allow-repeats" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "t.csv").exists()
    allowed = run("--stimuli", seven, "--design", "2afc", "--separation", 6, "--seed", 0, "--allow-repeats",
                  "--out", tmp_path / "t.csv")
    assert allowed.exit_code == 0 and len(pd.read_csv(tmp_path / "t.csv")) == 10 * 2


def test_balanced_lists_are_the_same_bytes_for_the_same_seed(seven, tmp_path):
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name / "t.csv"
        assert run("--stimuli", seven, "--design", "same-different", "--balance-images", "--seed", 5,
                   "--out", out).exit_code == 0
        outputs.append((out.read_bytes(), out.with_suffix(".json").read_bytes()))
    assert outputs[0] == outputs[1]


# ------------------------------------------------------------------------------------------
# 3. sets of every kind: their level columns


def test_an_attribute_series_orders_by_amount(tmp_path):
    amounts = [1.0, -1.0, 0.5, -0.5, 0.0]  # listed out of order: the trials sort them
    rows = [{"image_file": f"images/a{i}.png", "step": i, "axis": "smile", "amount": amount}
            for i, amount in enumerate(amounts)]
    folder = write_set(tmp_path / "attr", rows, kind="attribute series")
    out = tmp_path / "t.csv"
    record = write_trials(folder, "2afc", 1, 0, out, separations=[1])
    table = pd.read_csv(out)
    # pairs along the sorted amounts -1, -0.5, 0, 0.5, 1: 4 pairs, both sides
    assert len(table) == 8 and set(np.round(table["morph_left"] - table["morph_right"], 9).abs()) == {0.5}
    assert record["level_columns"] == ["amount"]
    assert [c["amount"] for c in record["image_counts"]] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert [c["shown"] for c in record["image_counts"]] == [2, 4, 4, 4, 2]
    low = table["morph_left"] < table["morph_right"]
    assert list(table["correct_side"]) == ["left" if x else "right" for x in low]


def test_a_wheel_orders_by_angle(tmp_path):
    rows = [{"image_file": f"images/w{i}.png", "index": i, "angle_deg": 60.0 * i} for i in range(6)]
    folder = write_set(tmp_path / "wheel", rows, kind="wheel")
    record = write_trials(folder, "identification", 2, 0, tmp_path / "t.csv")
    table = pd.read_csv(tmp_path / "t.csv")
    assert record["level_columns"] == ["angle_deg"]
    assert sorted(table["morph_level"]) == sorted([60.0 * i for i in range(6)] * 2)
    assert sorted(table["step"]) == sorted(list(range(6)) * 2)  # the wheel's own index


def grid_rows(n_rows=3, n_columns=4):
    return [{"image_file": f"images/r{r}_c{c}.png", "row": r, "column": c, "u": c / (n_columns - 1),
             "v": r / (n_rows - 1)} for r in range(n_rows) for c in range(n_columns)]


def test_a_grid_gives_two_level_identification(tmp_path):
    folder = write_set(tmp_path / "grid", grid_rows(), kind="grid")
    out = tmp_path / "t.csv"
    record = write_trials(folder, "identification", 3, 2, out)
    table = pd.read_csv(out)
    assert list(table.columns) == ["block", "trial", "design", "image_file", "step", "u", "v", "level_columns"]
    assert len(table) == 3 * 12 and set(table["level_columns"]) == {"u v"}
    for block in (1, 2, 3):  # every grid image once per block, with both its levels
        rows = table[table["block"] == block]
        assert sorted(zip(rows["u"], rows["v"])) == sorted((c / 3, r / 2) for r in range(3) for c in range(4))
    assert record["level_columns"] == ["u", "v"] and record["image_counts_equal"] is True
    assert {(c["u"], c["v"]): c["shown"] for c in record["image_counts"]} == {
        (c / 3, r / 2): 3 for r in range(3) for c in range(4)}
    assert all(a != b for a, b in zip(table["image_file"], table["image_file"][1:]))


def test_a_grid_refuses_pair_designs_and_one_axis(tmp_path):
    folder = write_set(tmp_path / "grid", grid_rows(), kind="grid")
    with pytest.raises(InputError, match=r"two level columns \(u, v\).*identification"):
        write_trials(folder, "2afc", 1, 0, tmp_path / "t.csv", separations=[1])
    with pytest.raises(DataError, match="u = 0 for 3 images.*--level-column u --level-column v"):
        write_trials(folder, "identification", 1, 0, tmp_path / "t.csv", level_columns=["u"])
    record = write_trials(folder, "identification", 1, 0, tmp_path / "t.csv", level_columns=["v", "u"])
    assert record["level_columns"] == ["v", "u"] and record["n_trials"] == 12


def test_analyze_refuses_two_level_identification_data_in_one_line(tmp_path):
    folder = write_set(tmp_path / "grid", grid_rows(), kind="grid")
    out = tmp_path / "t.csv"
    write_trials(folder, "identification", 4, 0, out)
    data = pd.read_csv(out)
    data["chose_b"] = (data["u"] > 0.5).astype(int)
    data.to_csv(tmp_path / "data.csv", index=False)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "data.csv"), "--out", str(tmp_path / "analysis")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "two levels at once (u and v" in result.output and "cannot fit" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_level_column_chooses_any_numeric_column(tmp_path):
    rows = [{"image_file": f"images/s{i}.png", "step": i, "morph_level": i / 4, "contrast": 0.9 - 0.2 * i}
            for i in range(5)]
    folder = write_set(tmp_path / "set", rows)
    result = run("--stimuli", folder, "--design", "identification", "--level-column", "contrast", "--seed", 0,
                 "--reps", 1, "--out", tmp_path / "t.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "t.csv")
    # morph_level now holds the contrast of each image (step i has contrast 0.9 - 0.2 i)
    assert all(abs(m - (0.9 - 0.2 * s)) < 1e-12 for m, s in zip(table["morph_level"], table["step"]))
    bad = run("--stimuli", folder, "--design", "identification", "--level-column", "colour", "--seed", 0,
              "--out", tmp_path / "u.csv")
    assert bad.exit_code == 1 and "'colour' is not a level column" in bad.output and "contrast" in bad.output
    three = run("--stimuli", folder, "--design", "identification", "--level-column", "step", "--level-column",
                "contrast", "--level-column", "morph_level", "--seed", 0, "--out", tmp_path / "u.csv")
    assert three.exit_code == 1 and "one column (or two" in three.output


def test_a_set_without_a_level_column_names_the_option(tmp_path):
    rows = [{"image_file": f"images/x{i}.png", "label": f"x{i}"} for i in range(3)]
    folder = write_set(tmp_path / "set", rows, kind="mean")
    with pytest.raises(DataError, match="morph_level.*--level-column"):
        write_trials(folder, "identification", 1, 0, tmp_path / "t.csv")


def test_a_level_that_is_not_a_number_is_refused(tmp_path):
    rows = [{"image_file": f"images/s{i}.png", "step": i, "morph_level": i / 2, "note": "x" * (i + 1)}
            for i in range(3)]
    folder = write_set(tmp_path / "set", rows)
    with pytest.raises(DataError, match="row 1: note 'x' is not a number"):
        write_trials(folder, "identification", 1, 0, tmp_path / "t.csv", level_columns=["note"])
    table = folder / "stimuli.csv"
    table.write_text(table.read_text().replace(",0.5,", ",nan,"))
    with pytest.raises(DataError, match="row 2: morph_level 'nan' is not a number"):
        write_trials(folder, "identification", 1, 0, tmp_path / "t.csv")


# ------------------------------------------------------------------------------------------
# continua past their sources (caricatures)


def caricature_set(folder, levels, n_steps, level_range):
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": level} for i, level in enumerate(levels)]
    parameters = {"sources": ["a.png", "b.png"], "n_steps": n_steps, "spacing": "linear",
                  "level_range": list(level_range), "seed": None}
    return write_set(folder, rows, parameters=parameters)


def test_a_continuum_past_its_sources_without_them_is_noted(tmp_path):
    # --range -0.5 1.5 --steps 11: levels -0.5, -0.3, ..., 1.5 in steps of 0.2: neither 0 nor 1.
    # Levels land on 0 and 1 when (0 + 0.5) / 2 * (steps - 1) is whole: steps - 1 a multiple of 4,
    # so the first count from 11 up is 13.
    levels = [-0.5 + 2 * i / 10 for i in range(11)]
    folder = caricature_set(tmp_path / "set", levels, 11, (-0.5, 1.5))
    result = run("--stimuli", folder, "--design", "identification", "--seed", 0, "--out", tmp_path / "t.csv")
    assert result.exit_code == 0, result.output
    [note] = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert "no image at source level 0, 1" in note and "--range -0.5 1.5 --steps 13" in note
    sidecar = json.loads((tmp_path / "t.json").read_text())
    assert sidecar["source_levels"] == {"levels": [0.0, 1.0], "in_set": [False, False]}


def test_a_continuum_holding_its_sources_and_caricatures_runs_every_design(tmp_path):
    # --range -0.5 1.5 --steps 9: -0.5, -0.25, 0, ..., 1.5 hold both sources.
    levels = [-0.5 + 0.25 * i for i in range(9)]
    folder = caricature_set(tmp_path / "set", levels, 9, (-0.5, 1.5))
    for design in ("identification", *PAIR_DESIGNS):
        out = tmp_path / f"{design}.csv"
        separations = () if design == "identification" else (2,)
        record = write_trials(folder, design, 2, 0, out, separations=separations)
        assert record["source_levels"] == {"levels": [0.0, 1.0], "in_set": [True, True]}
        assert not any("source level" in note for note in record["notes"])
    two_afc = pd.read_csv(tmp_path / "2afc.csv")
    caricature = two_afc[(two_afc[["morph_left", "morph_right"]].max(axis=1) == 1.5)]
    assert len(caricature) == 2 * 2  # the pair (1.0, 1.5), both sides, in 2 blocks
    assert set(caricature[["morph_left", "morph_right"]].min(axis=1)) == {1.0}


def test_the_stimulus_kinds_write_sets_trials_can_read(tmp_path):
    """Every kind, written by its own function with the stand-in model, gives a trial list."""
    sys.path.insert(0, str(Path(__file__).parent))
    from PIL import Image
    from conftest import SquaringModel, hand_made_axes
    from gaia_stim.io.sets import write_set as write_result
    from gaia_stim.stimuli import attribute_set, continuum as make_continuum, grid, wheel

    model = SquaringModel(image_size=8, channels=1)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"src{i}.png")
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(paths[-1])
    sets = {
        "continuum": (make_continuum(model, paths[0], paths[1], n_steps=5), ["morph_level"], 5),
        "attribute": (attribute_set(model, hand_made_axes(model.latent_dim), paths[0], "brightness",
                                    [-1, -0.5, 0, 0.5, 1]), ["amount"], 5),
        "wheel": (wheel(model, paths[0], paths[1], paths[2], n_images=6), ["angle_deg"], 6),
        "grid": (grid(model, paths, n_rows=2, n_columns=3), ["u", "v"], 6),
    }
    for name, (result, columns, n_images) in sets.items():
        write_result(tmp_path / name, result, model)
        record = write_trials(tmp_path / name, "identification", 2, 0, tmp_path / f"{name}.csv")
        assert record["level_columns"] == columns and record["n_trials"] == 2 * n_images, name
        if name != "grid":
            record = write_trials(tmp_path / name, "2afc", 1, 0, tmp_path / f"{name}_2afc.csv", separations=[1],
                                  balance_images=True)
            assert record["image_counts_equal"], name


def test_balanced_and_grid_lists_import_unchanged_with_psychopy(seven, tmp_path):
    from _psychopy_env import need_psychopy

    need_psychopy()
    from psychopy import data

    grid = write_set(tmp_path / "grid", grid_rows(), kind="grid")
    lists = [(grid, "identification", ()), (seven, "abx", (2,)), (seven, "same-different", (1, 3))]
    for index, (folder, design, separations) in enumerate(lists):
        out = tmp_path / f"list{index}.csv"
        write_trials(folder, design, 2, index, out, separations=separations, balance_images=True)
        expected = pd.read_csv(out, keep_default_na=False, dtype=str).to_dict("records")
        imported = data.importConditions(str(out))
        assert len(imported) == len(expected)
        for got, want in zip(imported, expected):
            assert list(got) == list(want)
            for name in ("balancing", "step", "block"):
                if name in want:
                    assert isinstance(got[name], (int, np.integer)) and got[name] == int(want[name])
            if "level_columns" in want:
                assert got["level_columns"] == "u v" and isinstance(got["u"], float)


def test_analyze_fits_a_balanced_list(seven, tmp_path):
    from gaia_stim.analysis import analyze, response_probability

    out = tmp_path / "t.csv"
    write_trials(seven, "2afc", 40, 0, out, separations=[2], balance_images=True)
    table = pd.read_csv(out)
    p = response_probability("2afc", table[["morph_left", "morph_right"]].to_numpy(), 0.45, 3.5, 0.02)
    table["correct"] = (np.random.default_rng(0).random(len(p)) < p).astype(int)
    table.to_csv(tmp_path / "data.csv", index=False)
    [row] = analyze([str(tmp_path / "data.csv")], str(tmp_path / "analysis"), n_bootstrap=10, fitter="scipy")
    assert row["n_trials"] == 40 * 2 * 7 and abs(row["pse"] - 0.45) < 0.1
