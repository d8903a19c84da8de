"""A design is one record in gaia_stim.designs plus its protocol script, and the two agree.

For every registered design: its protocol script (and Builder file) is on disk and runs that
design; the trial list it writes and the data its protocol's simulated observer writes hold the
columns the fit reads; the observer's answers, enumerated exactly over every draw it can make,
have the probability the record states; and ``gaia-stim analyze`` fits its data. A throwaway
record added to the registry works in ``gaia-stim trials`` and ``gaia-stim analyze`` with no other
edit, and the first check names its missing protocol script. The records' response probabilities
are checked against values computed by hand.

None of this needs PsychoPy: the protocols import it only inside the functions that open windows.
"""

import json
import math
import types
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import load_protocol
from gaia_stim.analysis import analyze, response_probability
from gaia_stim.cli import main
from gaia_stim.designs import DESIGNS, Design, design_trials, write_trials
from gaia_stim.io.sets import write_stimulus_set

PROTOCOLS = Path(__file__).resolve().parents[1] / "protocols"
N_STEPS = 7
OBSERVER = {"pse": 0.45, "slope": 3.5, "lapse": 0.02}


@pytest.fixture
def stimulus_set(tmp_path):
    """A real stimulus set (written by the package's writer) shaped like a continuum."""
    images = np.stack([np.full((8, 8, 1), 30 * i, dtype=np.uint8) for i in range(N_STEPS)])
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / (N_STEPS - 1)}
            for i in range(N_STEPS)]
    folder = tmp_path / "set"
    write_stimulus_set(folder, images, rows, {"seed": None}, types.SimpleNamespace(name="test"), kind="continuum")
    return folder


def protocol_problems(record):
    """What is missing for ``record`` to run: its protocol script, its Builder file."""
    problems = []
    if not (PROTOCOLS / record.protocol).is_file():
        problems.append(f"design {record.name!r} has no protocol script protocols/{record.protocol}")
    if record.builder_protocol and not (PROTOCOLS / record.builder_protocol).is_file():
        problems.append(f"design {record.name!r} has no Builder file protocols/{record.builder_protocol}")
    return problems


class NoDisplay:
    """Stands in for _protocol.Display: the simulated observer needs no window."""

    def image(self, path, pos=(0, 0)):
        return path

    def show(self, stims, seconds):
        pass

    def blank(self, seconds):
        pass


def every_answer(protocol, _protocol, trial, keys):
    """``[(probability, data)]`` over every sequence of draws the protocol's observer can make.

    The observer is the protocol's own ``SimulatedObserver`` with its one source of chance,
    ``draw(p)``, replaced by a script of outcomes, so each trial is answered once per branch and
    the branch's probability is the product of its draws' probabilities.
    """

    class Scripted(_protocol.SimulatedObserver):
        def __init__(self, script):
            super().__init__(OBSERVER["pse"], OBSERVER["slope"], OBSERVER["lapse"], seed=0)
            self.script, self.used, self.probability = list(script), 0, 1.0

        def draw(self, probability):
            if self.used == len(self.script):
                self.script.append(True)
            outcome = self.script[self.used]
            self.used += 1
            self.probability *= probability if outcome else 1.0 - probability
            return outcome

    args = types.SimpleNamespace(keys=keys, size=0.4, duration=0.0, isi=0.0)
    answers, pending = [], [[]]
    while pending:
        script = pending.pop()
        observer = Scripted(script)
        data = protocol.run_trial(NoDisplay(), trial, args, observer)
        drawn = observer.script[:observer.used]
        pending.extend(drawn[:i] + [False] for i in range(len(script), observer.used))
        answers.append((observer.probability, data))
    return answers


def trial_rows(record, stimuli, reps=1):
    separations = (1, 2) if record.takes_separations else ()
    return design_trials(stimuli, record.name, reps, np.random.default_rng(0), separations)


STIMULI = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / (N_STEPS - 1)} for i in range(N_STEPS)]


@pytest.mark.parametrize("name", list(DESIGNS))
def test_every_design_has_its_protocol_and_they_agree(name, stimulus_set, tmp_path):
    record = DESIGNS[name]
    assert record.name == name
    assert protocol_problems(record) == []
    protocol, _protocol, _ = load_protocol(record.protocol)
    assert protocol.DESIGN == name, f"protocols/{record.protocol} runs {protocol.DESIGN!r} trials"

    # The trial list the design writes carries its name and every level column the fit reads.
    out = tmp_path / "trials.csv"
    write_trials(stimulus_set, name, 1, 0, out, separations=(1, 2) if record.takes_separations else ())
    table = pd.read_csv(out)
    assert set(table["design"]) == {name}
    assert set(record.level_columns) <= set(table.columns)

    if record.scale_probability is not None:
        assert_scale_observer_agrees(record, protocol)
        return
    # The protocol's simulated observer: every trial's data hold the coded response, and its
    # probability, summed over every way the trial can be answered, is the record's.
    for keys in (protocol.KEYS, protocol.KEYS[::-1]):
        for trial in trial_rows(record, STIMULI):
            answers = every_answer(protocol, _protocol, trial, keys)
            assert sum(p for p, _ in answers) == pytest.approx(1.0, abs=1e-12)
            written = set(trial) | {column for _, data in answers for column, value in data.items() if value is not None}
            assert set(record.columns) <= written, f"the {name} data lack {set(record.columns) - written}"
            assert {data[record.response_column] for _, data in answers} <= {0, 1}
            observed = sum(p for p, data in answers if data[record.response_column] == 1)
            levels = [[trial[column] for column in record.level_columns]]
            expected = response_probability(name, levels, OBSERVER["pse"], OBSERVER["slope"], OBSERVER["lapse"])
            assert observed == pytest.approx(float(expected[0]), abs=1e-12), (keys, trial)


# A perceptual scale with its simulation text for the MLDS protocols (numpy, independent of their parser).
SCALES = [
    ("logistic:0.35:0.1", lambda x: 1 / (1 + np.exp(-(np.asarray(x) - 0.35) / 0.1)), 0.2),
    ("power:2.5", lambda x: np.asarray(x) ** 2.5, 0.05),
    ("table:0=0,0.5=0.8,1=1", (np.array([0, 0.5, 1.0]), np.array([0, 0.8, 1.0])), 0.3),
]


def assert_scale_observer_agrees(record, protocol):
    """Scale designs (MLDS): the protocol's observer answers "second pair" with the record's probability.

    The observer makes one draw per trial; replacing it by the two outcomes enumerates every answer.
    """
    import _mlds

    class Scripted(_mlds.ScaleObserver):
        def __init__(self, scale, sigma, outcome):
            super().__init__(scale, sigma, seed=0)
            self.outcome, self.probabilities = outcome, []

        def draw(self, probability):
            self.probabilities.append(probability)
            return self.outcome

    for text, scale, sigma in SCALES:
        for keys in (protocol.KEYS, protocol.KEYS[::-1]):
            args = types.SimpleNamespace(keys=keys, size=0.4, duration=0.0, isi=0.0)
            trials = trial_rows(record, STIMULI)
            levels = np.array([[trial[column] for column in record.level_columns] for trial in trials])
            expected = record.scale_probability(levels, scale, sigma)
            for trial, p in zip(trials, expected):
                answered = {}
                for outcome in (True, False):
                    observer = Scripted(text, sigma, outcome)
                    data = protocol.run_trial(NoDisplay(), trial, args, observer)
                    assert len(observer.probabilities) == 1
                    assert observer.probabilities[0] == pytest.approx(float(p), abs=1e-12), (text, trial)
                    assert data["response"] == keys[1 if outcome else 0]
                    answered[outcome] = data[record.response_column]
                assert answered == {True: 1, False: 0}
    # The probability is not symmetric in the pairs: a scale that makes them differ is seen to.
    assert len({round(float(p), 6) for p in expected}) > 3


@pytest.mark.parametrize("name", [name for name, record in DESIGNS.items() if record.builder_protocol])
def test_builder_files_run_their_design_and_write_its_response(name):
    record = DESIGNS[name]
    tree = ElementTree.parse(PROTOCOLS / record.builder_protocol)
    code = "\n".join(param.get("val").replace("&#10;", "\n") for param in tree.iter("Param")
                     if param.get("valType") == "extendedCode")
    assert f"thisExp.addData('design', '{name}')" in code
    assert f"thisExp.addData('{record.response_column}'," in code


def test_the_identification_builder_observer_labels_with_the_records_sigmoid():
    """identification.psyexp's simulated observer says B when its draw falls below F(level)."""
    tree = ElementTree.parse(PROTOCOLS / "identification.psyexp")
    [begin] = [param.get("val").replace("&#10;", "\n") for param in tree.iter("Param")
               if param.get("name") == "Begin Routine" and "sim_rng" in param.get("val")]

    def answer(level, draws):
        rng = iter(draws)
        scope = {"os": __import__("os"), "math": math, "trial_folder": "", "image_file": "a.png",
                 "morph_level": level, "simulating": True, "sim_pse": OBSERVER["pse"],
                 "sim_slope": OBSERVER["slope"], "sim_lapse": OBSERVER["lapse"],
                 "sim_rng": types.SimpleNamespace(random=lambda: next(rng)),
                 "answer_keys": {"key_a": "left", "key_b": "right"}}  # the standard key mapping
        exec(begin, scope)
        return scope["sim_answer"]

    record = DESIGNS["identification"]
    for level in (0.0, 0.3, 0.45, 0.6, 1.0):
        p = float(record.response_probability([level], OBSERVER["pse"], OBSERVER["slope"])[0])
        no_lapse = OBSERVER["lapse"] + 1e-9
        assert answer(level, [no_lapse, p - 1e-9]) == "right"  # right = endpoint B
        assert answer(level, [no_lapse, p + 1e-9]) == "left"
    assert answer(1.0, [OBSERVER["lapse"] - 1e-9, 0.5 + 1e-9]) == "left"  # a lapse is a coin flip


def simulated_data(record, rows, path, seed=0):
    """A data file as the protocols write it: the trial columns and the coded response."""
    levels = np.array([[row[c] for c in record.level_columns] for row in rows], dtype=np.float64)
    p = response_probability(record.name, levels, **OBSERVER)
    table = pd.DataFrame(rows)
    table[record.response_column] = (np.random.default_rng(seed).random(len(p)) < p).astype(int)
    table.to_csv(path, index=False)
    return path


def test_analyze_refuses_scale_designs_in_one_line_pointing_to_scale(tmp_path):
    for name in [name for name, record in DESIGNS.items() if record.scale_probability is not None]:
        rows = trial_rows(DESIGNS[name], STIMULI)
        path = tmp_path / f"{name}.csv"
        pd.DataFrame([{**row, "chose_second_pair": 1} for row in rows]).to_csv(path, index=False)
        result = CliRunner().invoke(main, ["analyze", str(path), "--out", str(tmp_path / "out")])
        assert result.exit_code != 0
        assert f"holds {name} trials" in result.output and "gaia-stim scale" in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", [name for name, record in DESIGNS.items() if record.from_labels is not None])
def test_the_analysis_fits_every_design(name, tmp_path):
    record = DESIGNS[name]
    path = simulated_data(record, trial_rows(record, STIMULI, reps=30), tmp_path / "data.csv")
    [row] = analyze([str(path)], str(tmp_path / "analysis"), n_bootstrap=10, fitter="scipy")
    assert row["design"] == name and row["n_trials"] == len(pd.read_csv(path))
    assert 0 <= row["pse"] <= 1 and row["slope"] > 0
    assert (tmp_path / "analysis" / "psychometric.png").read_bytes()[:4] == b"\x89PNG"


# A throwaway design: two images one after the other, "which was more like B?". Its observer says
# "second" when only the second is labelled B, and guesses when the labels agree.
def _which_b_conditions(stimuli, separations):
    return [
        {"image_first": stimuli[first]["image_file"], "image_second": stimuli[second]["image_file"],
         "morph_first": stimuli[first]["morph_level"], "morph_second": stimuli[second]["morph_level"],
         "separation": separation}
        for separation in separations for low in range(len(stimuli) - separation)
        for first, second in ((low, low + separation), (low + separation, low))
    ]


THROWAWAY = Design(
    name="throwaway",
    description="two images in turn: which was more like endpoint B?",
    conditions=_which_b_conditions,
    takes_separations=True,
    columns=("morph_first", "morph_second", "chose_second"),
    from_labels=lambda F, levels: F[:, 1] * (1 - F[:, 0]) + 0.5 * (F[:, 0] * F[:, 1] + (1 - F[:, 0]) * (1 - F[:, 1])),
    y_label="proportion 'second'",
    curve_groups=lambda conditions: np.round(conditions[:, 1] - conditions[:, 0], 9),
    protocol="throwaway.py",
)


def test_a_new_design_is_one_record_plus_its_protocol_script(stimulus_set, tmp_path, monkeypatch):
    runner = CliRunner()
    trials = tmp_path / "throwaway.csv"
    command = ["trials", "--stimuli", str(stimulus_set), "--design", "throwaway", "--reps", "200", "--seed", "1",
               "--out", str(trials)]
    refused = runner.invoke(main, command)
    assert refused.exit_code == 2 and "throwaway" in refused.output and not trials.exists()

    monkeypatch.setitem(DESIGNS, "throwaway", THROWAWAY)
    written = runner.invoke(main, command)
    assert written.exit_code == 0, written.output
    table = pd.read_csv(trials)
    assert len(table) == 200 * 2 * (N_STEPS - 2) and set(table["design"]) == {"throwaway"}
    assert list(table.columns[:3]) == ["block", "trial", "design"]
    assert json.loads(trials.with_suffix(".json").read_text())["separations"] == [2]  # the default, as for 2afc

    data = simulated_data(THROWAWAY, table.to_dict("records"), tmp_path / "data.csv", seed=3)
    analysis = tmp_path / "analysis"
    fitted = runner.invoke(main, ["analyze", str(data), "--out", str(analysis), "--fitter", "scipy",
                                  "--bootstrap", "10"])
    assert fitted.exit_code == 0, fitted.output
    [row] = pd.read_csv(analysis / "summary.csv").to_dict("records")
    assert row["design"] == "throwaway" and row["n_trials"] == len(table)
    # The fit used the record's observer: it finds the observer that answered.
    assert abs(row["pse"] - OBSERVER["pse"]) < 0.05 and abs(row["slope"] / OBSERVER["slope"] - 1) < 0.25, row
    assert (analysis / "psychometric.png").is_file()

    # What the new design still lacks is its protocol script, and the first check says so.
    assert protocol_problems(THROWAWAY) == ["design 'throwaway' has no protocol script protocols/throwaway.py"]


# Response probabilities by hand. With pse 0.5 and slope ln 3 the logistic F is 1 / (1 + 9^-(2x - 1)):
# F(0) = 0.1, F(0.25) = 0.25, F(0.5) = 0.5, F(0.75) = 0.75, F(1) = 0.9.
HAND = {
    "identification": [([0.25], 0.25), ([0.5], 0.5), ([0.75], 0.75), ([1.0], 0.9)],
    # 1/2 + (F(high) - F(low)) / 2, whichever side holds the lower level
    "2afc": [([0.25, 0.75], 0.75), ([0.75, 0.25], 0.75), ([0.5, 1.0], 0.7), ([0.25, 0.0], 0.575)],
    # (a, b, x): p_c = F(x's source), p_o = F(the other);
    # p_c^2 (1 - p_o) + (1 - p_c)^2 p_o + (p_c p_o + (1 - p_c)(1 - p_o)) / 2
    "abx": [
        ([0.25, 0.75, 0.25], 0.0625 * 0.25 + 0.5625 * 0.75 + 0.5 * (0.1875 + 0.1875)),  # 0.625
        ([0.5, 1.0, 0.5], 0.25 * 0.1 + 0.25 * 0.9 + 0.5 * (0.45 + 0.05)),  # 0.5: X's label is a coin
        ([0.5, 1.0, 1.0], 0.81 * 0.5 + 0.01 * 0.5 + 0.5 * (0.45 + 0.05)),  # 0.66
        ([1.0, 0.5, 0.5], 0.25 * 0.1 + 0.25 * 0.9 + 0.5 * (0.45 + 0.05)),  # 0.5, in the other order
        ([0.0, 0.25, 0.25], 0.0625 * 0.9 + 0.5625 * 0.1 + 0.5 * (0.025 + 0.675)),  # 0.4625
    ],
    # F1 (1 - F2) + F2 (1 - F1)
    "same-different": [([0.25, 0.75], 0.625), ([0.5, 0.5], 0.5), ([0.75, 0.75], 0.375), ([0.0, 1.0], 0.82)],
}


@pytest.mark.parametrize("name", list(HAND))
def test_response_probabilities_match_hand_computed_values(name):
    levels = [point for point, _ in HAND[name]]
    expected = np.array([value for _, value in HAND[name]])
    slope = math.log(3)
    np.testing.assert_allclose(DESIGNS[name].response_probability(levels, 0.5, slope), expected, atol=1e-12)
    # A lapse rate of 0.1 answers at random one time in ten: 0.05 + 0.9 P.
    np.testing.assert_allclose(response_probability(name, levels, 0.5, slope, 0.1), 0.05 + 0.9 * expected,
                               atol=1e-12)
    # The normal sigmoid with slope 1 / sqrt(2 pi) is Phi(x - pse): F(pse + 1) = Phi(1).
    phi_1 = 0.8413447460685429
    if name == "identification":
        assert DESIGNS[name].response_probability([1.5], 0.5, 1 / math.sqrt(2 * math.pi), "normal")[0] == (
            pytest.approx(phi_1, abs=1e-12))
