"""Psychometric fits: the response models, parameter recovery, PsychoPy data files, the analyze command."""

import csv
import math
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from _psychopy_env import need_psychopy
from gaia_stim.analysis import DESIGN_COLUMNS, analyze, fit, label_probability, read_data_file, response_probability
from gaia_stim.analysis.psignifit_fits import slope_from_width
from gaia_stim.cli import main
from gaia_stim.designs import design_trials
from gaia_stim.core.errors import DataError

STIMULI = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / 10} for i in range(11)]
SEPARATIONS = {"identification": [], "2afc": [3], "abx": [4], "same-different": [3]}
TRUE = {"pse": 0.45, "slope": 3.5, "lapse": 0.02}


def covert_labelling_answers(design, levels, pse, slope, lapse, rng):
    """The observer as a process (labels drawn per image, answers from labels), not a formula."""
    n = len(levels)
    label = lambda x: rng.random(n) < 1 / (1 + np.exp(-4 * slope * (x - pse)))  # noqa: E731
    if design == "identification":
        answer = label(levels[:, 0])
    elif design == "2afc":
        left_b, right_b = label(levels[:, 0]), label(levels[:, 1])
        chose_left = np.where(left_b != right_b, ~left_b, rng.random(n) < 0.5)
        answer = chose_left == (levels[:, 0] < levels[:, 1])
    elif design == "abx":
        a_b, b_b, x_b = label(levels[:, 0]), label(levels[:, 1]), label(levels[:, 2])
        says_a = np.where(a_b != b_b, x_b == a_b, rng.random(n) < 0.5)
        answer = says_a == (levels[:, 2] == levels[:, 0])
    else:
        answer = label(levels[:, 0]) != label(levels[:, 1])
    lapsed = rng.random(n) < lapse
    return np.where(lapsed, rng.random(n) < 0.5, answer).astype(np.float64)


def design_levels(design, reps, seed=0):
    rows = design_trials(STIMULI, design, reps, np.random.default_rng(seed), SEPARATIONS[design])
    return np.array([[row[c] for c in DESIGN_COLUMNS[design][:-1]] for row in rows], dtype=np.float64)


def test_the_sigmoids_have_their_pse_and_slope():
    for sigmoid in ("logistic", "normal"):
        assert label_probability(0.3, 0.3, 2.0, sigmoid) == pytest.approx(0.5)
        h = 1e-6
        derivative = (label_probability(0.3 + h, 0.3, 2.0, sigmoid) - label_probability(0.3 - h, 0.3, 2.0, sigmoid)) / (2 * h)
        assert derivative == pytest.approx(2.0, rel=1e-5)
    # With a lapse rate the asymptotes are lapse / 2 and 1 - lapse / 2.
    p = response_probability("identification", [-100.0, 100.0], 0.5, 3.0, 0.1)
    assert p == pytest.approx([0.05, 0.95])


@pytest.mark.parametrize("design", list(DESIGN_COLUMNS))
def test_response_probabilities_match_the_labelling_process(design):
    # One trial type per distinct condition, each simulated 40,000 times.
    levels = np.unique(design_levels(design, 1), axis=0)
    repeated = np.repeat(levels, 40000, axis=0)
    answers = covert_labelling_answers(design, repeated, rng=np.random.default_rng(1), **TRUE)
    simulated = answers.reshape(len(levels), -1).mean(axis=1)
    predicted = response_probability(design, levels, **TRUE)
    assert np.max(np.abs(simulated - predicted)) < 4.5 * math.sqrt(0.25 / 40000)


@pytest.mark.parametrize("design, reps", [("identification", 120), ("2afc", 240), ("abx", 120), ("same-different", 25)])
def test_fits_recover_the_observer(design, reps):
    levels = design_levels(design, reps)
    answers = covert_labelling_answers(design, levels, rng=np.random.default_rng(2), **TRUE)
    estimate = fit(design, levels, answers)
    assert abs(estimate["pse"] - TRUE["pse"]) < 0.05
    assert abs(estimate["slope"] / TRUE["slope"] - 1) < 0.25
    assert 0 <= estimate["lapse"] <= 0.2


def test_psignifit_width_conversion():
    # The 5 %..95 % width of each sigmoid, computed from its own formula.
    for sigmoid in ("logistic", "normal"):
        slope = 2.5
        grid = np.linspace(-2, 2, 400001)
        values = label_probability(grid, 0.0, slope, sigmoid)
        width = grid[np.searchsorted(values, 0.95)] - grid[np.searchsorted(values, 0.05)]
        assert slope_from_width(width, sigmoid) == pytest.approx(slope, rel=1e-3)


def write_experiment_file(folder, participant, design, levels, answers, drop_bom=False):
    """A real wide CSV from PsychoPy's ExperimentHandler (BOM and trailing commas included)."""
    from psychopy import data

    columns = DESIGN_COLUMNS[design]
    stem = os.path.join(str(folder), f"{participant}_{design}")
    experiment = data.ExperimentHandler(name=design, extraInfo={"participant": participant},
                                        dataFileName=stem, savePickle=False, saveWideText=False)
    # A morph column first: a BOM read as part of the first header would hide it.
    conditions = [{**{c: float(v) for c, v in zip(columns[:-1], row)}, "design": design} for row in levels]
    loop = data.TrialHandler(trialList=conditions, nReps=1, method="sequential")
    experiment.addLoop(loop)
    for trial, answer in zip(loop, answers):
        experiment.addData(columns[-1], int(answer))
        experiment.addData("response", "left" if answer else "right")
        experiment.nextEntry()
    experiment.addData("note", "end")  # a row without an answer, as Builder's end routines leave
    experiment.nextEntry()
    experiment.saveAsWideText(stem + ".csv", delim=",")
    experiment.abort()
    path = stem + ".csv"
    if drop_bom:
        raw = open(path, "rb").read()
        assert raw.startswith(b"\xef\xbb\xbf")
        open(path, "wb").write(raw[3:])
    return path


@pytest.mark.parametrize("drop_bom", [False, True])
def test_reads_experimenthandler_wide_csv(tmp_path, drop_bom):
    need_psychopy()
    levels = design_levels("abx", 2)
    answers = covert_labelling_answers("abx", levels, rng=np.random.default_rng(3), **TRUE)
    path = write_experiment_file(tmp_path, "007", "abx", levels, answers, drop_bom=drop_bom)
    text = open(path, encoding="utf-8-sig").read().splitlines()
    assert all(line.endswith(",") for line in text), "PsychoPy ends every line with a comma"
    [(design, participant, got_levels, got_answers)] = read_data_file(path)
    assert design == "abx" and participant == "007"  # not the number 7
    np.testing.assert_array_equal(got_levels, levels)
    np.testing.assert_array_equal(got_answers, answers)


def test_analyze_fits_participants_and_pooled_and_writes_summary_and_plot(tmp_path):
    need_psychopy()
    paths = []
    for index, participant in enumerate(("P01", "P02")):
        levels = design_levels("identification", 60, seed=index)
        answers = covert_labelling_answers("identification", levels, rng=np.random.default_rng(10 + index), **TRUE)
        paths.append(write_experiment_file(tmp_path, participant, "identification", levels, answers))
    out = tmp_path / "analysis"
    result = CliRunner().invoke(main, ["analyze", *paths, "--out", str(out), "--bootstrap", "50", "--fitter", "scipy"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv", dtype={"participant": str})
    assert list(summary["participant"]) == ["P01", "P02", "pooled"]
    assert list(summary["n_trials"]) == [660, 660, 1320]
    for _, row in summary.iterrows():
        assert row["pse_ci_low"] < row["pse"] < row["pse_ci_high"]
        assert row["slope_ci_low"] < row["slope"] < row["slope_ci_high"]
    pooled = summary.iloc[2]
    assert pooled["pse_ci_high"] - pooled["pse_ci_low"] < summary.iloc[0]["pse_ci_high"] - summary.iloc[0]["pse_ci_low"]
    assert abs(pooled["pse"] - TRUE["pse"]) < 0.05
    assert (out / "psychometric.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The bootstrap is seeded: the same command gives the same summary.
    again = CliRunner().invoke(main, ["analyze", *paths, "--out", str(out), "--bootstrap", "50", "--fitter", "scipy",
                                      "--force", "--no-plot"])
    assert again.exit_code == 0
    assert pd.read_csv(out / "summary.csv", dtype={"participant": str}).equals(summary)


def test_a_plain_csv_without_bom_or_design_column_is_read_by_its_columns(tmp_path):
    path = tmp_path / "mine.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["morph_level", "chose_b", ""])
        for level, answer in [(0.0, 0), (0.5, 1), (1.0, 1), (0.2, "")]:
            writer.writerow([level, answer, ""])
    [(design, participant, levels, answers)] = read_data_file(path)
    assert design == "identification" and participant == "mine"
    assert levels[:, 0].tolist() == [0.0, 0.5, 1.0] and answers.tolist() == [0, 1, 1]


def test_practice_trials_are_not_data(tmp_path):
    # the protocols' --practice rows carry is_practice=1; only the main trials are fitted
    path = tmp_path / "P01.csv"
    rows = [("identification", 0.0, 1, 1), ("identification", 1.0, 0, 1),
            ("identification", 0.0, 0, 0), ("identification", 0.5, 1, 0), ("identification", 1.0, 1, "")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["design", "morph_level", "chose_b", "is_practice"])
        writer.writerows(rows)
    [(design, participant, levels, answers)] = read_data_file(path)
    assert levels[:, 0].tolist() == [0.0, 0.5, 1.0] and answers.tolist() == [0, 1, 1]


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b\n1,2\n", "neither a 'design' column"),
        ("design,morph_level,chose_b\nidentification,0.5,2\n", "must be 0 or 1"),
        ("design,morph_level,chose_b\nidentification,0.5,\n", "no answered identification trials"),
        ("design,morph_level,chose_b\ntriangle,0.5,1\n", "not one of"),
        ("design,morph_level\nidentification,0.5\n", "need the column"),
    ],
)
def test_bad_data_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_data_file(path)
    result = CliRunner().invoke(main, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and message.split()[0] in result.output and "Traceback" not in result.output


def test_existing_summary_is_not_overwritten(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("morph_level,chose_b\n0,0\n0.5,1\n1,1\n0.5,0\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("keep")
    with pytest.raises(Exception, match="--force"):
        analyze([str(path)], str(out), n_bootstrap=10)
    assert (out / "summary.csv").read_text() == "keep"


def test_psignifit_agrees_with_the_maximum_likelihood_fit_when_installed():
    if os.environ.get("GAIA_STIM_REQUIRE_PSIGNIFIT") == "1":  # CI installs the extra: no skipping there
        import psignifit  # noqa: F401
    pytest.importorskip("psignifit", reason="psignifit is an optional extra (GPLv3)")
    from gaia_stim.analysis.psignifit_fits import fit_psignifit

    levels = design_levels("identification", 120)
    answers = covert_labelling_answers("identification", levels, rng=np.random.default_rng(4), **TRUE)
    ours = fit("identification", levels, answers)
    theirs = fit_psignifit("identification", levels, answers)
    assert theirs["pse"] == pytest.approx(ours["pse"], abs=0.01)
    assert theirs["slope"] == pytest.approx(ours["slope"], rel=0.1)
    assert theirs["intervals"]["pse"][0] < theirs["pse"] < theirs["intervals"]["pse"][1]


def test_summary_cells_from_the_data_never_run_as_spreadsheet_formulas(tmp_path):
    need_psychopy()
    levels = design_levels("identification", 30, seed=0)
    answers = covert_labelling_answers("identification", levels, rng=np.random.default_rng(3), **TRUE)
    path = write_experiment_file(tmp_path, "=1+2", "identification", levels, answers)
    out = tmp_path / "analysis"
    result = CliRunner().invoke(main, ["analyze", path, "--out", str(out), "--bootstrap", "10", "--fitter", "scipy",
                                       "--no-plot"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv", dtype={"participant": str})
    assert list(summary["participant"]) == ["'=1+2"]


@pytest.mark.parametrize("value, shown", [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-P1", "'-P1"),
                                          ("@SUM(A1)", "'@SUM(A1)"), ("P01", "P01"), ("", ""), (-1.5, -1.5)])
def test_spreadsheet_safe_marks_formula_text_only(value, shown):
    from gaia_stim.io.tables import spreadsheet_safe

    assert spreadsheet_safe(value) == shown


@pytest.mark.parametrize("ci", [0.95, 0.9])
def test_bootstrap_interval_is_the_central_ci_range_of_the_refits(monkeypatch, ci):
    # Refits that are the quantiles of a standard normal: the ci interval must be its central ci range,
    # +-1.96 at 95 % and +-1.645 at 90 % (scipy's normal quantiles, not numpy's percentiles).
    from scipy import stats

    from gaia_stim.analysis import psychometric

    n_bootstrap = 4000
    quantiles = iter(stats.norm.ppf((np.arange(n_bootstrap) + 0.5) / n_bootstrap))
    monkeypatch.setattr(psychometric, "fit", lambda *args, **kwargs: {
        "pse": next(quantiles), "slope": 1.0, "lapse": 0.0})
    levels = np.linspace(0, 1, 11)
    estimate = {"pse": 0.5, "slope": 3.0, "lapse": 0.02}
    intervals = psychometric.bootstrap("identification", levels, (levels > 0.5).astype(float), estimate,
                                       n_bootstrap=n_bootstrap, ci=ci)
    z = stats.norm.ppf(0.5 + ci / 2)
    assert intervals["pse"] == pytest.approx((-z, z), abs=0.005)


def test_files_of_one_participant_are_joined_trial_for_trial(tmp_path):
    from gaia_stim.analysis import read_data_files

    trials = {"first.csv": [(0.0, 0), (0.25, 0), (0.5, 1)], "second.csv": [(0.75, 1), (1.0, 0)]}
    paths = []
    for name, rows in trials.items():
        paths.append(tmp_path / name)
        paths[-1].write_text("participant,morph_level,chose_b\n" + "".join(f"P1,{x},{y}\n" for x, y in rows))
    [(key, (levels, answers))] = read_data_files([str(path) for path in paths]).items()
    assert key == ("identification", "P1")
    joined = trials["first.csv"] + trials["second.csv"]
    assert levels[:, 0].tolist() == [x for x, _ in joined] and answers.tolist() == [y for _, y in joined]


def write_plain_file(folder, participant, design, levels, answers):
    """A plain CSV data file (no PsychoPy needed): participant, design, the level columns and the answer."""
    path = os.path.join(str(folder), f"{participant}_{design}.csv")
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["participant", "design", *DESIGN_COLUMNS[design]])
        for row, answer in zip(levels, answers):
            writer.writerow([participant, design, *(repr(float(v)) for v in row), int(answer)])
    return path


def simulated_experiment(folder, participants=("P01", "P02"), designs=("identification", "2afc"), reps=None):
    """Data files of known observers (pse 0.45 +- 0.05 between participants) and the trials in them."""
    reps = reps or {"identification": 20, "2afc": 30}
    paths, data = [], {}
    for index, participant in enumerate(participants):
        observer = {**TRUE, "pse": TRUE["pse"] + 0.1 * (index - 0.5)}
        for design in designs:
            levels = design_levels(design, reps[design], seed=index)
            answers = covert_labelling_answers(design, levels, rng=np.random.default_rng(20 + index), **observer)
            paths.append(write_plain_file(folder, participant, design, levels, answers))
            data[(design, participant)] = (levels, answers)
    return paths, data


def test_analyze_compares_discrimination_with_the_labelling_prediction(tmp_path):
    from gaia_stim.analysis.discrimination import EXCESS_COLUMNS

    paths, data = simulated_experiment(tmp_path)
    out = tmp_path / "analysis"
    result = CliRunner().invoke(main, ["analyze", *paths, "--out", str(out), "--bootstrap", "20", "--fitter", "scipy",
                                       "--no-plot"])
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(out / "discrimination.csv", dtype={"participant": str})
    assert list(pairs.columns) == ["participant", *EXCESS_COLUMNS]
    for participant in ("P01", "P02"):
        levels, answers = data[("2afc", participant)]
        low, high = levels.min(axis=1), levels.max(axis=1)
        rows = pairs[pairs["participant"] == participant]
        expected = sorted({(float(a), float(b)) for a, b in zip(low, high)})
        assert [(float(a), float(b)) for a, b in zip(rows["level_low"], rows["level_high"])] == expected
        for (a, b), (_, row) in zip(expected, rows.iterrows()):
            chosen = (low == a) & (high == b)
            assert (row["n_trials"], row["n_correct"]) == (chosen.sum(), answers[chosen].sum())
        assert rows["d_prime"].notna().all() and rows["predicted_pc"].notna().all()
        assert f"2afc {participant}: excess " in result.output and "boundary p=" in result.output
    excess = pd.read_csv(out / "excess.csv", dtype={"participant": str})
    assert list(excess["participant"]) == ["P01", "P02"] and set(excess["design"]) == {"2afc"}
    for column in ("mean_excess", "mean_excess_ci_low", "mean_excess_ci_high", "p_overall", "p_boundary",
                   "p_location", "p_omnibus"):
        assert excess[column].notna().all(), column
    assert "summary.csv, discrimination.csv, excess.csv and group.csv to" in result.output


def test_group_estimates_are_means_of_the_participants_fits_not_the_pooled_fit(tmp_path):
    paths, data = simulated_experiment(tmp_path, designs=("identification",), reps={"identification": 20})
    out = tmp_path / "analysis"
    analyze(paths, str(out), n_bootstrap=10, fitter="scipy", plot=False)
    group = pd.read_csv(out / "group.csv")
    pse = group[(group["design"] == "identification") & (group["quantity"] == "pse")].iloc[0]
    own = [fit("identification", *data[("identification", p)])["pse"] for p in ("P01", "P02")]
    assert pse["n_participants"] == 2
    assert pse["mean"] == pytest.approx(np.mean(own), abs=1e-6)
    assert pse["ci_low"] < pse["mean"] < pse["ci_high"]
    # The pooled row of summary.csv is one fit of the concatenated trials: a different number.
    summary = pd.read_csv(out / "summary.csv", dtype={"participant": str})
    assert summary.iloc[-1]["participant"] == "pooled"


def test_force_never_replaces_a_discrimination_table_that_analyze_did_not_write(tmp_path):
    paths, _ = simulated_experiment(tmp_path, participants=("P01",))
    out = tmp_path / "analysis"
    out.mkdir()
    (out / "discrimination.csv").write_text("participant,mine\nP01,keep\n")
    with pytest.raises(Exception, match="will not be replaced"):
        analyze(paths, str(out), n_bootstrap=10, fitter="scipy", plot=False, force=True)
    assert (out / "discrimination.csv").read_text() == "participant,mine\nP01,keep\n"
    assert not (out / "summary.csv").exists()
    # analyze's own files are replaced with --force.
    (out / "discrimination.csv").unlink()
    analyze(paths, str(out), n_bootstrap=10, fitter="scipy", plot=False)
    analyze(paths, str(out), n_bootstrap=10, fitter="scipy", plot=False, force=True)
    assert (out / "excess.csv").exists() and not (out / "group.csv").exists()
