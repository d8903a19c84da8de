"""Files read are checked like options, work is sized before it starts, and long work shows a bar.

* the schema specs (:mod:`gaia_stim.core.schemas`), each refusing a value with the field's name;
* text files read as UTF-8 (a byte-order mark accepted) with one error for any other encoding, and
  arrays read without unpickling;
* the caps on work (:mod:`gaia_stim.core.limits`): the estimate a refusal states, ``--yes``, the
  option ranges taken from the one table, and the table as docs/errors.md shows it;
* progress bars (:mod:`gaia_stim.core.progress`): on stderr only when it is a terminal, and the
  long loops (the set writer, bootstraps, equal spacing) drawing one there.

The commands' own cases (a latin-1 stimuli.csv, a manifest edited to n_steps: 1000000, ...) are rows
of tests/test_bad_inputs.py.
"""

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import SquaringModel
from gaia_stim.core import limits, progress
from gaia_stim.core.errors import DataError, InputError, ModelFileError
from gaia_stim.core.schemas import (
    Array,
    Equals,
    InsidePath,
    Items,
    ListOf,
    MapOf,
    Nullable,
    Number,
    Record,
    Sha256,
    Text,
    Whole,
    check,
    load_array,
    read_text,
)

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# the specs

SPEC_CASES = [
    (Whole(2, 10, option="--steps"), 5, 5, None),
    (Whole(2, 10, option="--steps"), 1000000, None, "n is 1000000, more than --steps allows (2 to 10)"),
    (Whole(2, 10), 1, None, "n is 1, less than allowed (2 to 10)"),
    (Whole(), 1.5, None, "n is 1.5 (a number), not a whole number"),
    (Whole(), True, None, "n is True (true/false), not a whole number"),
    (Whole(), "3", None, "n is '3' (text), not a whole number"),
    (Whole(choices=(1, 3), option="--channels"), 2, None, "n is 2, not one of 1, 3 (--channels)"),
    (Number(0), 0.5, 0.5, None),
    (Number(), float("nan"), None, "n is nan, not a finite number"),
    (Number(), "x", None, "n is 'x' (text), not a number"),
    (Number(maximum=1), 2, None, "n is 2, more than allowed (at most 1)"),
    (Text(choices=("a", "b")), "c", None, "n is 'c', not one of 'a', 'b'"),
    (Sha256(), "0" * 63, None, "not a sha256"),
    (Equals("fmt"), "other", None, "n is 'other', not 'fmt'"),
    (InsidePath("the set"), "images/a.png", "images/a.png", None),
    (InsidePath("the set"), "../../outside/secret.txt", None, "climbs out with '..', outside the set"),
    (InsidePath("the set"), "/etc/passwd", None, "an absolute path, outside the set"),
    (InsidePath("the set"), "a//b.png", None, "not a plain relative path"),
    (ListOf(Whole(), max_length=3, option="--steps"), [1, 2, 3, 4], None,
     "holds 4 values, more than --steps allows (3)"),
    (ListOf(Whole()), [1, "x"], None, "n[1] is 'x' (text), not a whole number"),
    (Items(Whole(), Text()), [1, 2], None, "n[1] is 2 (a whole number), not text"),
    (Items(Whole(), Whole()), [1], None, "n holds 1 values, not 2"),
    (Record({"a": Whole()}), {"a": 1, "b": 2}, None, "n holds 'b', not one of the known names ('a')"),
    (Record({"a": Whole()}), {}, None, "n lacks 'a'"),
    (Record({"a": Whole()}, extra=True), {"a": 1, "b": 2}, {"a": 1, "b": 2}, None),
    (Record({"a": Record({"b": Whole(0)})}), {"a": {"b": -1}}, None, "n.a.b is -1, less than allowed"),
    (MapOf(Text()), {"x": 1}, None, "n.x is 1 (a whole number), not text"),
    (Nullable(Whole()), None, None, None),
    (Array("f", ("k", 2)), np.zeros((3, 2)), "array", None),
    (Array("f", (2,)), np.zeros(3, dtype=object), None, "n is an array of object, not of floats"),
    (Array("f", (2,), finite=True), np.array([0.0, np.inf]), None, "holds values that are not finite"),
]


@pytest.mark.parametrize("spec, value, expected, says", SPEC_CASES, ids=[str(i) for i in range(len(SPEC_CASES))])
def test_each_spec_refuses_a_bad_value_naming_the_field(spec, value, expected, says):
    wrapped = Record({"n": spec})
    if says is None:
        checked = check({"n": value}, wrapped, "f.json", "fix it")["n"]
        if isinstance(expected, str) and expected == "array":
            assert checked is value
        else:
            assert checked == expected or (expected is None and checked is None)
        return
    with pytest.raises(DataError) as caught:
        check({"n": value}, wrapped, "f.json", "write it again")
    message = str(caught.value)
    assert says in message, message
    assert message.startswith("'f.json': ") and message.endswith("; write it again")


def test_array_shapes_agree_across_fields_by_name():
    spec = Record({"a": Array("f", ("n", "d")), "b": Array("f", ("d",))})
    check({"a": np.zeros((3, 5)), "b": np.zeros(5)}, spec, "x.npz", "fix")
    with pytest.raises(ModelFileError, match=r"b has shape \(4,\): axis 0 is 4 long, not 5 \(the d of a\)"):
        check({"a": np.zeros((3, 5)), "b": np.zeros(4)}, spec, "x.npz", "fix", ModelFileError)


def test_whole_numbers_come_back_as_int_and_numbers_as_float():
    checked = check({"a": np.int64(3), "b": 2}, Record({"a": Whole(), "b": Number()}), "f", "fix")
    assert type(checked["a"]) is int and type(checked["b"]) is float


# --------------------------------------------------------------------------------------------
# text and arrays


def test_text_is_read_as_utf8_with_or_without_a_byte_order_mark(tmp_path):
    (tmp_path / "a.csv").write_bytes("file,note\nx.png,café\n".encode("utf-8"))
    (tmp_path / "b.csv").write_bytes("file,note\nx.png,café\n".encode("utf-8-sig"))
    expected = "file,note\nx.png,café\n"
    assert read_text(tmp_path / "a.csv", "table") == read_text(tmp_path / "b.csv", "table") == expected


@pytest.mark.parametrize("encoding, says", [
    ("latin-1", "is not UTF-8 text (byte 0xe9 on line 2"),
    ("cp1252", "is not UTF-8 text (byte 0xe9 on line 2"),
    ("utf-16", "is UTF-16 text"),
])
def test_another_encoding_is_one_error_naming_the_file_and_the_fix(tmp_path, encoding, says):
    path = tmp_path / "stimuli.csv"
    path.write_bytes("file,note\nx.png,café\n".encode(encoding))
    with pytest.raises(DataError) as caught:
        read_text(path, "the stimulus table")
    message = str(caught.value)
    assert says in message and "stimuli.csv" in message and "save it as UTF-8" in message, message


def test_an_object_array_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    np.save(tmp_path / "a.npy", np.array([Exploit()], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects .* allow_pickle=False"):
        load_array(tmp_path / "a.npy", "the source copy")
    assert not marker.exists()
    np.save(tmp_path / "b.npy", np.ones((2, 2)))
    assert load_array(tmp_path / "b.npy", "the source copy").shape == (2, 2)


# --------------------------------------------------------------------------------------------
# caps on work


def test_work_at_the_cap_starts_and_past_it_is_refused_with_the_estimate():
    cap = limits.CAPS["set_images"]
    limits.check_work("set_images", cap.limit)  # at the cap: no question asked
    with pytest.raises(InputError) as caught:
        limits.check_work("set_images", 1_000_000, detail="a 1000 x 1000 grid", fix="lower --rows")
    message = str(caught.value)
    # 1,000,000 images at 0.004 s and 6,000 bytes each: 4,000 s (67 min) and 6.0 GB, worked out by hand
    assert message == ("this asks for 1,000,000 images (a 1000 x 1000 grid), about 67 min and 6.0 GB of disk: more"
                       " than the 10,000 gaia-stim starts without asking; lower --rows, or add --yes to go ahead")


def test_yes_goes_past_the_cap_and_says_how_much():
    said = r"200,000 trials, past the cap of 100,000 as --yes asks: about 20 s and 14.0 MB"
    with pytest.warns(limits.WorkWarning, match=said):
        limits.check_work("trials", 200_000, yes=True)


@pytest.mark.parametrize("seconds, shown", [(0.2, "1 s"), (119, "119 s"), (120, "2 min"), (7200, "2 h"),
                                            (86400 * 3, "3 days")])
def test_the_estimate_of_time_is_in_readable_units(seconds, shown):
    assert limits._duration(seconds) == shown


def test_trial_lists_are_sized_before_any_trial_is_drawn():
    from gaia_stim.designs import design_trials

    stimuli = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / 10} for i in range(11)]
    with pytest.raises(InputError, match=r"110,000,000 trials \(--reps 10,000,000 x 11 conditions\)"):
        design_trials(stimuli, "identification", 10_000_000, np.random.default_rng(0))  # refused at once
    assert len(design_trials(stimuli, "identification", 3, np.random.default_rng(0))) == 33


def test_the_options_take_their_limits_from_the_one_table():
    from gaia_stim.cli.attribute import attribute
    from gaia_stim.cli.continuum import continuum
    from gaia_stim.cli.grid import grid
    from gaia_stim.cli.wheel import wheel

    def maximum(command, name):
        return next(parameter.type.max for parameter in command.params if parameter.name == name)

    assert maximum(continuum, "n_steps") == maximum(attribute, "n_steps") == limits.MAX_STEPS
    assert maximum(wheel, "n_images") == limits.MAX_WHEEL_IMAGES
    assert maximum(grid, "n_rows") == maximum(grid, "n_columns") == limits.MAX_GRID_SIDE
    assert maximum(attribute, "corrections") == limits.MAX_CORRECTIONS
    from gaia_stim.stimuli.regenerate import SET_PARAMETERS

    assert SET_PARAMETERS.fields["n_steps"].maximum == limits.MAX_STEPS
    assert SET_PARAMETERS.fields["n_rows"].maximum == limits.MAX_GRID_SIDE
    assert SET_PARAMETERS.fields["n_images"].maximum == limits.MAX_WHEEL_IMAGES
    assert SET_PARAMETERS.fields["corrections"].maximum == limits.MAX_CORRECTIONS


def test_docs_list_every_cap_and_option_limit():
    text = (ROOT / "docs" / "errors.md").read_text()
    for cap in limits.CAPS.values():
        assert f"| {cap.limit:,} {cap.counts} |" in text, cap
    for option, allowed, _ in limits.OPTION_LIMITS:
        assert f"| {option} | {allowed} |" in text, option


def test_the_new_ground_floor_modules_import_no_torch_and_nothing_heavy():
    code = ("import sys\nimport gaia_stim.core.schemas, gaia_stim.core.limits, gaia_stim.core.progress\n"
            "print(sorted(m for m in ('torch', 'numpy', 'tqdm', 'pandas') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# progress bars


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def terminal(monkeypatch):
    """Call it in the test to make stderr a terminal (pytest sets its own stderr again after fixtures run)."""

    def on_terminal():
        stream = Terminal()
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setattr(progress, "DELAY_S", 0.0)
        return stream

    return on_terminal


def test_a_bar_is_drawn_on_a_terminal_only(monkeypatch):
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert list(progress.progress_bar(range(3), description="work")) == [0, 1, 2]
    assert pipe.getvalue() == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress.progress_bar(range(3), description="work")) == [0, 1, 2]
    assert "work:" in terminal.getvalue() and "/3 [" in terminal.getvalue()
    off = Terminal()
    monkeypatch.setattr(sys, "stderr", off)
    list(progress.progress_bar(range(3), description="work", enabled=False))
    assert off.getvalue() == ""


def test_quick_work_shows_no_bar_even_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    list(progress.progress_bar(range(3), description="work"))  # well under DELAY_S
    assert terminal.getvalue() == ""


def test_the_set_writer_draws_a_bar_on_a_terminal(tmp_path, terminal):
    from gaia_stim.io.sets import write_stimulus_set

    terminal = terminal()
    images = np.linspace(0, 1, 5)[:, None, None, None] * np.ones((5, 8, 8, 1))
    rows = [{"image_file": f"images/{i}.png", "step": i} for i in range(5)]
    write_stimulus_set(tmp_path / "set", images, rows, {}, SquaringModel(8))
    assert "writing images:" in terminal.getvalue() and "/5 [" in terminal.getvalue()


def test_a_bootstrap_draws_a_bar_on_a_terminal(terminal):
    from gaia_stim.analysis import psychometric

    terminal = terminal()
    levels = np.repeat(np.linspace(0, 1, 6), 10)[:, None]
    responses = (np.arange(60) % 6 >= 3).astype(float)
    estimate = psychometric.fit("identification", levels, responses)
    psychometric.bootstrap("identification", levels, responses, estimate, n_bootstrap=10)
    assert "bootstrap:" in terminal.getvalue() and "/10 [" in terminal.getvalue()


def test_equal_spacing_draws_a_bar_on_a_terminal(terminal):
    from gaia_stim.stimuli._common import equal_steps

    terminal = terminal()

    def render(levels):
        images = (np.asarray(levels)[:, None, None, None] ** 2) * np.ones((1, 4, 4, 1))
        return np.asarray(levels)[:, None], images

    levels, *_ = equal_steps(np.linspace(0, 1, 5), render, "pixel")
    assert "equal spacing:" in terminal.getvalue()
    # the pixel distance grows as level ** 2: equal steps of it put the levels at sqrt(0, 1/4, ..., 1)
    assert np.allclose(levels, np.sqrt(np.linspace(0, 1, 5)), atol=0.01)
    assert not math.isnan(levels[0])


def test_bars_never_reach_a_pipe_from_the_command_line(tmp_path):
    """The commands run under CliRunner (stderr not a terminal) print no bar characters."""
    from click.testing import CliRunner

    from gaia_stim.cli import main

    data = tmp_path / "d.csv"
    lines = ["design,participant,morph_level,chose_b"] + [f"identification,p,{(i % 6) / 5},{int(i % 6 >= 3)}"
                                                          for i in range(60)]
    data.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["analyze", str(data), "--bootstrap", "10", "--out", str(tmp_path / "a"),
                                       "--no-plot"])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "it/s" not in result.output and "fit/s" not in result.output
    assert json.dumps(result.output)  # plain text
