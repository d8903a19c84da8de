"""Discrimination analysis: intervals, d' per design, the labelling prediction, the excess tests,
group estimates, curves over unequal spacing, and trials needed.

Expected values come from hand computation (normal tables), from another library (scipy's
binomtest and t test), from Monte Carlo of each design's decision model with a known d', or from
simulated observers with a known truth, never from the code under test.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from gaia_stim.analysis import discrimination as D
from gaia_stim.analysis import groups as G
from gaia_stim.analysis import power as P
from gaia_stim.analysis import psychometric
from gaia_stim.core.errors import GaiaStimError, InputError
from gaia_stim.designs import design_trials

STEPS = 11
TRUE = {"pse": 0.5, "slope": 4.0, "lapse": 0.02}


def stimuli(levels=None):
    levels = np.linspace(0, 1, STEPS) if levels is None else levels
    return [{"image_file": f"s{i}.png", "step": i, "morph_level": float(x)} for i, x in enumerate(levels)]


def trial_levels(design, reps, separation=2, levels=None, seed=0):
    rows = design_trials(stimuli(levels), design, reps, np.random.default_rng(seed), [separation])
    columns = psychometric.DESIGN_COLUMNS[design][:-1]
    return np.array([[row[c] for c in columns] for row in rows], dtype=np.float64)


def expit(x):
    return 1.0 / (1.0 + math.exp(-x))


# --- binomial intervals --------------------------------------------------------------------------

def test_wilson_and_exact_intervals_match_hand_values_and_scipy():
    # 8 of 10: Wilson (0.4902, 0.9433) and Clopper-Pearson (0.4439, 0.9748), by hand / tables.
    low, high = D.binomial_interval(8, 10, 0.95, "wilson")
    assert (float(low), float(high)) == pytest.approx((0.4902, 0.9433), abs=5e-4)
    low, high = D.binomial_interval(8, 10, 0.95, "exact")
    assert (float(low), float(high)) == pytest.approx((0.4439, 0.9748), abs=5e-4)
    k = np.array([0, 1, 5, 19, 20, 3])
    n = np.array([20, 20, 20, 20, 20, 7])
    for method in ("wilson", "exact"):
        low, high = D.binomial_interval(k, n, 0.9, method)
        for i in range(len(k)):
            expected = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(0.9, method=method)
            assert low[i] == pytest.approx(expected.low, abs=1e-9)
            assert high[i] == pytest.approx(expected.high, abs=1e-9)
    low, high = D.binomial_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)


def test_log_linear_rate_is_hautus():
    assert D.log_linear_rate(0, 10) == pytest.approx(0.5 / 11)
    assert D.log_linear_rate(10, 10) == pytest.approx(10.5 / 11)


# --- d' per design ------------------------------------------------------------------------------

def test_2afc_d_prime_matches_macmillan_and_creelman():
    # Macmillan & Creelman's 2AFC table: Pc 0.76 -> d' 1.0 (sqrt 2 * z(0.76) = 1.4142 * 0.7063 = 0.9989).
    assert float(D.d_prime_2afc(0.76)) == pytest.approx(0.9989, abs=2e-3)
    assert float(D.d_prime_2afc(0.5)) == 0.0
    assert float(D.d_prime_2afc(0.9214)) == pytest.approx(2.0, abs=2e-3)  # Phi(sqrt 2) = 0.9214
    # H 0.8, F 0.3: (0.8416 + 0.5244) / sqrt 2 = 0.9659.
    assert float(D.d_prime_2afc_rates(0.8, 0.3)) == pytest.approx(0.9659, abs=1e-3)
    assert float(D.two_afc_proportion_correct(1.0)) == pytest.approx(0.7602, abs=1e-4)


def test_abx_models_match_hand_values():
    # d' = 1: Phi(.7071) = .76025, Phi(.40825) = .65846, Phi(.5) = .69146.
    assert float(D.abx_proportion_correct(1.0, "differencing")) == pytest.approx(
        0.76025 * 0.65846 + 0.23975 * 0.34154, abs=2e-4)
    assert float(D.abx_proportion_correct(1.0, "independent")) == pytest.approx(
        0.76025 * 0.69146 + 0.23975 * 0.30854, abs=2e-4)
    assert float(D.d_prime_abx(0.5)) == 0.0
    assert float(D.d_prime_abx(0.58248)) == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("model, true_d", [("differencing", 1.3), ("independent", 1.3), ("differencing", 2.5)])
def test_abx_d_prime_is_recovered_from_the_simulated_decision_rule(model, true_d):
    rng = np.random.default_rng(11)
    n = 200_000
    x_is_a = rng.random(n) < 0.5
    # A is S1 (mean 0) or S2 (mean d') at random; B the other; X a fresh draw of A's or B's stimulus.
    a_is_s2 = rng.random(n) < 0.5
    mean_a, mean_b = np.where(a_is_s2, true_d, 0.0), np.where(a_is_s2, 0.0, true_d)
    a, b = mean_a + rng.standard_normal(n), mean_b + rng.standard_normal(n)
    x = np.where(x_is_a, mean_a, mean_b) + rng.standard_normal(n)
    if model == "differencing":  # the nearer of A and B
        says_a = np.abs(x - a) < np.abs(x - b)
    else:  # classify X and the order separately, answer consistently
        x_is_s2 = x > true_d / 2
        order_a_s2 = a > b
        says_a = x_is_s2 == order_a_s2
    pc = np.mean(says_a == x_is_a)
    assert float(D.d_prime_abx(pc, model)) == pytest.approx(true_d, abs=0.04)


def test_same_different_rates_match_hand_values_and_simulation():
    # k = sqrt 2 * 1.2816 = 1.8124 gives F = 0.2; H = Phi(0.1326) + Phi(-2.6958) = 0.55275 + 0.00351.
    hit, fa = D.same_different_rates(2.0, 1.8124)
    assert float(fa) == pytest.approx(0.2, abs=1e-4)
    assert float(hit) == pytest.approx(0.55626, abs=3e-4)
    rng = np.random.default_rng(5)
    n, true_d, k = 400_000, 2.0, 1.5
    first = rng.standard_normal(n)
    different = first - (true_d + rng.standard_normal(n))  # S1 then S2 (the order does not matter)
    same = first - rng.standard_normal(n)
    h, f = np.mean(np.abs(different) > k), np.mean(np.abs(same) > k)
    assert float(D.d_prime_same_different(h, f)) == pytest.approx(true_d, abs=0.03)
    assert float(D.d_prime_same_different(0.2, 0.3)) == 0.0


# --- the pair table ------------------------------------------------------------------------------

def test_pair_table_counts_hits_false_alarms_and_d_prime_of_2afc_by_hand():
    # Pair (0.2, 0.4): 6 trials with the lower level left (5 correct), 4 with it right (3 correct).
    levels = [[0.2, 0.4]] * 6 + [[0.4, 0.2]] * 4 + [[0.6, 0.8]] * 2
    responses = [1, 1, 1, 1, 1, 0] + [1, 1, 1, 0] + [1, 0]
    table = D.pair_table("2afc", levels, responses).set_index("level_low")
    row = table.loc[0.2]
    assert (row["n_trials"], row["n_correct"], row["n_signal"], row["hits"], row["n_noise"], row["false_alarms"]) == (
        10, 8, 6, 5, 4, 1)
    assert row["proportion_correct"] == pytest.approx(0.8)
    assert (row["pc_ci_low"], row["pc_ci_high"]) == pytest.approx((0.4902, 0.9433), abs=5e-4)
    expected = (stats.norm.ppf(5.5 / 7) - stats.norm.ppf(1.5 / 5)) / math.sqrt(2)
    assert row["d_prime"] == pytest.approx(expected, abs=1e-9)
    assert row["separation"] == 1 and table.loc[0.6, "separation"] == 1
    assert row["mean_level"] == pytest.approx(0.3) and row["difference"] == pytest.approx(0.2)


def test_pair_table_of_same_different_uses_same_trials_at_both_levels():
    levels = ([[0.3, 0.5]] * 3 + [[0.5, 0.3]] * 1 + [[0.3, 0.3]] * 2 + [[0.5, 0.5]] * 4
              + [[0.5, 0.7]] * 2 + [[0.7, 0.7]] * 2)
    said = [1, 1, 0, 1] + [0, 1] + [0, 0, 0, 1] + [1, 1] + [0, 0]
    table = D.pair_table("same-different", levels, said).set_index("level_low")
    first = table.loc[0.3]
    assert (first["n_signal"], first["hits"], first["n_noise"], first["false_alarms"]) == (4, 3, 6, 2)
    assert first["n_correct"] == 3 + 4 and first["n_trials"] == 10
    # F is the mean of the levels' rates: 1 of 2 at 0.3, 1 of 4 at 0.5; Pc = (H + 1 - F) / 2
    assert first["false_alarm_rate"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert first["proportion_correct"] == pytest.approx((3 / 4 + 1 - 0.375) / 2)
    assert first["pc_ci_low"] < first["proportion_correct"] < first["pc_ci_high"]
    second = table.loc[0.5]  # the same trials at 0.5 count for both pairs
    assert (second["n_signal"], second["hits"], second["n_noise"], second["false_alarms"]) == (2, 2, 6, 1)
    assert second["false_alarm_rate"] == pytest.approx((1 / 4 + 0 / 2) / 2)
    # log-linear rates: H = 3.5 / 5, F = (1.5 / 3 + 1.5 / 5) / 2; the d' whose hit rate at F's criterion is H
    alarm = (1.5 / 3 + 1.5 / 5) / 2
    k = -math.sqrt(2) * stats.norm.ppf(alarm / 2)
    hit = 3.5 / 5
    d = D.d_prime_same_different(hit, alarm)
    assert float(D.same_different_rates(d, k)[0]) == pytest.approx(hit, abs=1e-8)
    assert first["d_prime"] == pytest.approx(float(d))


def test_abx_pair_table_and_bad_trials_give_input_errors():
    table = D.pair_table("abx", [[0.1, 0.3, 0.1], [0.3, 0.1, 0.1], [0.3, 0.1, 0.3]], [1, 0, 1])
    assert table["n_trials"].tolist() == [3] and table["proportion_correct"].tolist() == [pytest.approx(2 / 3)]
    assert np.isnan(table["hit_rate"]).all()
    cases = [
        (("identification", [[0.1]], [1]), "identification data are what the prediction"),
        (("2afc", [[0.1, 0.2, 0.3]], [1]), "shape"),
        (("2afc", [[0.1, 0.2]], [2]), "coded 0 or 1"),
        (("2afc", [[0.1, 0.1]], [1]), "same level twice"),
        (("abx", [[0.1, 0.3, 0.5]], [1]), "neither its morph_a nor its morph_b"),
        (("same-different", [[0.1, 0.1]], [1]), "no trial with two different levels"),
    ]
    for args, words in cases:
        with pytest.raises(InputError, match=words):
            D.pair_table(*args)
    with pytest.raises(GaiaStimError, match="interval must be one of"):
        D.binomial_interval(1, 2, method="agresti")


# --- the labelling prediction and the excess ----------------------------------------------------

@pytest.mark.parametrize("design", D.DISCRIMINATION_DESIGNS)
def test_prediction_is_what_a_labelling_observer_does(design):
    # Per pair, the simulated covert-labelling process (labels drawn per image) over many blocks.
    levels = np.tile(trial_levels(design, 1, separation=2, seed=1), (3000, 1))  # the order does not matter
    answers = P.simulate_discrimination(design, levels, rng=np.random.default_rng(2), **TRUE)
    observed = D.pair_table(design, levels, answers)
    predicted = D.excess_table(design, levels, answers, TRUE, n_bootstrap=0)["pairs"]
    standard_error = np.sqrt(0.25 / observed["n_trials"])
    assert np.all(np.abs(observed["proportion_correct"] - predicted["predicted_pc"]) < 4.5 * standard_error)
    canonical = D.predicted_proportion_correct(design, predicted["level_low"], predicted["level_high"], TRUE)
    assert np.max(np.abs(canonical - predicted["predicted_pc"])) < 1e-12  # balanced lists: every order once


def test_predicted_2afc_pc_is_the_labelling_formula_by_hand():
    estimate = {"pse": 0.45, "slope": 3.0, "lapse": 0.1}
    F = lambda x: expit(4 * 3.0 * (x - 0.45))  # noqa: E731
    expected = 0.05 + 0.9 * (0.5 + 0.5 * (F(0.6) - F(0.4)))
    table = D.excess_table("2afc", [[0.4, 0.6], [0.6, 0.4]], [1, 0], estimate, n_bootstrap=0)["pairs"]
    assert table["predicted_pc"].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert table["excess"].iloc[0] == pytest.approx(0.5 - expected, abs=1e-12)


def test_excess_bootstrap_is_seeded_and_varies_when_every_answer_is_correct():
    rng = np.random.default_rng(3)
    id_levels = np.repeat(np.linspace(0, 1, STEPS), 10)
    id_answers = P.simulate_identification(id_levels, rng=rng, **TRUE)
    levels = trial_levels("2afc", 5, seed=3)
    answers = np.ones(len(levels))  # 10 of 10 correct in every pair
    estimate = psychometric.fit("identification", id_levels, id_answers)
    first = D.excess_table("2afc", levels, answers, estimate, id_levels, id_answers, n_bootstrap=30, seed=4)
    second = D.excess_table("2afc", levels, answers, estimate, id_levels, id_answers, n_bootstrap=30, seed=4)
    pd.testing.assert_frame_equal(first["pairs"], second["pairs"])
    pairs = first["pairs"]
    assert np.all(pairs["observed_boot_high"] - pairs["observed_boot_low"] > 0.02)
    assert np.all(pairs["excess_ci_low"] <= pairs["excess"]) and np.all(pairs["excess"] <= pairs["excess_ci_high"])
    with pytest.raises(InputError, match="identification_levels"):
        D.excess_table("2afc", levels, answers, estimate, n_bootstrap=20)
    with pytest.raises(InputError, match="at least 10"):
        D.excess_table("2afc", levels, answers, estimate, id_levels, id_answers, n_bootstrap=5)


def simulated_participant(design, bump, rng, id_reps=20, reps=16):
    pse = 0.5 + 0.05 * rng.standard_normal()
    slope = 4.0 * math.exp(0.2 * rng.standard_normal())
    id_levels = np.repeat(np.linspace(0, 1, STEPS), id_reps)
    id_answers = P.simulate_identification(id_levels, pse, slope, 0.02, rng)
    levels = trial_levels(design, reps, seed=int(rng.integers(1 << 30)))
    answers = P.simulate_discrimination(design, levels, pse, slope, 0.02, rng, bump_d_prime=bump)
    return levels, answers, id_levels, id_answers


def test_a_boundary_excess_is_detected_and_the_labelling_observer_is_not_flagged():
    # 40 simulated participants per arm (2AFC, 288 trials, identification 220 trials); the
    # benchmark benchmarks/categorical_perception.py runs 200 per arm and every design.
    rng = np.random.default_rng(20240)
    rejected = {0.0: [], 1.5: []}
    for bump in rejected:
        for _ in range(40):
            tests = D.excess_tests("2afc", *simulated_participant("2afc", bump, rng))
            rejected[bump].append([tests[name]["p"] < 0.05 for name in ("overall", "boundary", "omnibus")])
    false_positive = np.mean(rejected[0.0], axis=0)
    detection = np.mean(rejected[1.5], axis=0)
    assert np.all(false_positive <= 0.15), false_positive
    assert detection[1] >= 0.8, detection  # the boundary test
    assert detection[0] >= 0.4, detection  # the uniform-excess test sees it less often


def test_excess_analysis_summary_and_curve_of_a_boundary_bump():
    rng = np.random.default_rng(8)
    levels, answers, id_levels, id_answers = simulated_participant("2afc", 3.0, rng, id_reps=30, reps=30)
    result = D.excess_analysis("2afc", levels, answers, id_levels, id_answers, n_bootstrap=20)
    summary = result["summary"]
    assert summary["boundary_excess"] > summary["within_excess"]
    assert summary["p_boundary"] < 0.01
    assert abs(summary["peak_level"] - summary["pse"]) <= 0.15
    curve = D.discrimination_curve("2afc", levels, answers, result["identification"], excess_fit=result["tests"]["both"])
    assert np.all(curve["fitted_pc"] >= curve["labelling_pc"] - 0.02)
    at_peak = curve.iloc[int(np.argmax(curve["fitted_pc"] - curve["labelling_pc"]))]
    assert abs(at_peak["mean_level"] - summary["pse"]) < 0.15


# --- curves whatever the spacing -----------------------------------------------------------------

def test_curve_over_unequal_steps_passes_through_the_labelling_prediction_of_each_pair():
    levels_of_continuum = (np.linspace(0, 1, STEPS) ** 1.4)  # no two pairs have the same difference
    levels = trial_levels("2afc", 2, separation=2, levels=levels_of_continuum)
    answers = P.simulate_discrimination("2afc", levels, rng=np.random.default_rng(1), **TRUE)
    table = D.pair_table("2afc", levels, answers)
    assert table["difference"].round(9).nunique() == len(table)
    curve = D.discrimination_curve("2afc", levels, answers, TRUE, n_grid=201)
    assert len(curve) == 201 and curve["separation"].unique().tolist() == [2]
    F = lambda x: 1 / (1 + np.exp(-4 * TRUE["slope"] * (x - TRUE["pse"])))  # noqa: E731
    for _, row in table.iterrows():
        # the grid point at this pair's mean level, where the interpolated pair is the pair itself
        index = int(np.argmin(np.abs(curve["mean_level"] - row["mean_level"])))
        grid_level = curve["mean_level"].iloc[index]
        half = np.interp(grid_level, table["mean_level"], table["difference"]) / 2
        expected = 0.01 + 0.98 * (0.5 + 0.5 * (F(grid_level + half) - F(grid_level - half)))
        assert curve["labelling_pc"].iloc[index] == pytest.approx(expected, abs=1e-9)
    # the fitted curve with no excess is the labelling curve
    flat = D.discrimination_curve("2afc", levels, answers, TRUE, excess_fit={**TRUE, "beta_uniform": 0.0,
                                                                               "beta_boundary": 0.0})
    assert np.allclose(flat["fitted_pc"], flat["labelling_pc"], atol=1e-8)


def test_smoothed_curve_recovers_a_known_accuracy_profile():
    levels_of_continuum = np.linspace(0, 1, 21) ** 1.2
    levels = trial_levels("abx", 500, separation=3, levels=levels_of_continuum)
    mean = (levels[:, 0] + levels[:, 1]) / 2
    truth = lambda m: 0.6 + 0.3 * np.exp(-0.5 * ((m - 0.5) / 0.12) ** 2)  # noqa: E731
    answers = (np.random.default_rng(2).random(len(levels)) < truth(mean)).astype(float)
    curve = D.discrimination_curve("abx", levels, answers)
    assert np.max(np.abs(curve["smoothed_pc"] - truth(curve["mean_level"]))) < 0.05
    assert curve["labelling_pc"].isna().all()


# --- groups --------------------------------------------------------------------------------------

def test_group_mean_matches_scipy_t_interval_and_t_test():
    values = np.array([0.12, -0.03, 0.08, 0.2, 0.05, 0.11, -0.01, 0.09])
    result = G.group_mean(values, ci=0.9)
    low, high = stats.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high), abs=1e-12)
    test = stats.ttest_1samp(values, 0.0)
    assert result["p_two_sided"] == pytest.approx(test.pvalue, abs=1e-12)
    assert result["p_greater"] == pytest.approx(stats.ttest_1samp(values, 0.0, alternative="greater").pvalue)
    boot = G.group_mean(np.random.default_rng(0).normal(1.0, 2.0, 60), method="bootstrap", seed=3)
    t_interval = G.group_mean(np.random.default_rng(0).normal(1.0, 2.0, 60))
    assert boot["ci_high"] - boot["ci_low"] == pytest.approx(t_interval["ci_high"] - t_interval["ci_low"], rel=0.2)
    assert boot == G.group_mean(np.random.default_rng(0).normal(1.0, 2.0, 60), method="bootstrap", seed=3)
    with pytest.raises(InputError, match="at least 2"):
        G.group_mean([1.0])


def test_group_estimate_is_not_the_fit_of_pooled_trials():
    # Half the participants have pse 0.3, half 0.7, all slope 3: pooling flattens the function.
    rng = np.random.default_rng(9)
    groups_ = {}
    id_levels = np.repeat(np.linspace(0, 1, STEPS), 60)
    for number in range(10):
        pse = 0.3 if number % 2 else 0.7
        groups_[("identification", f"P{number}")] = (id_levels[:, None], P.simulate_identification(
            id_levels, pse, 3.0, 0.0, rng))
    table = G.participant_table(groups_, lapse=0.0)
    summary = G.group_table(table, quantities=("pse", "slope")).set_index("quantity")
    assert summary.loc["slope", "mean"] == pytest.approx(3.0, rel=0.15)
    assert summary.loc["pse", "mean"] == pytest.approx(0.5, abs=0.03)
    assert summary.loc["pse", "ci_high"] - summary.loc["pse", "ci_low"] > 0.2  # participants differ
    pooled = psychometric.fit("identification", np.concatenate([v[0] for v in groups_.values()]),
                              np.concatenate([v[1] for v in groups_.values()]), lapse=0.0)
    assert pooled["slope"] < 0.6 * 3.0


def test_participant_table_adds_the_excess_of_every_paired_discrimination_design():
    rng = np.random.default_rng(12)
    groups_ = {}
    for number in range(3):
        levels, answers, id_levels, id_answers = simulated_participant("abx", 0.0, rng, reps=4)
        groups_[("identification", f"P{number}")] = (id_levels[:, None], id_answers)
        groups_[("abx", f"P{number}")] = (levels, answers)
    groups_[("2afc", "P9")] = (levels[:, :2], answers)  # no identification: left out
    assert G.paired_participants(groups_) == [("abx", "P0"), ("abx", "P1"), ("abx", "P2")]
    table = G.participant_table(groups_)
    assert table["design"].tolist().count("abx") == 3 and "P9" not in set(table["participant"])
    summary = G.group_table(table)
    assert set(summary["design"]) == {"abx", "identification"}
    assert summary.set_index(["design", "quantity"]).loc[("identification", "pse"), "n_participants"] == 3
    with pytest.raises(InputError, match="no participant has identification"):
        G.participant_table({("abx", "P0"): (levels, answers)})


# --- simulation and trials needed ---------------------------------------------------------------

def test_interval_widths_match_the_fisher_information_of_the_logistic():
    # Lapse known (0), symmetric levels about the pse: pse and slope are asymptotically independent,
    # SD(pse) = 1 / sqrt(sum n 16 s^2 F(1-F)), SD(slope) = 1 / sqrt(sum n 16 (x - pse)^2 F(1-F)).
    slope, reps = 3.0, 60
    x = np.linspace(0, 1, STEPS)
    F = special.expit(4 * slope * (x - 0.5))
    sd_pse = 1 / math.sqrt(np.sum(reps * 16 * slope**2 * F * (1 - F)))
    sd_slope = 1 / math.sqrt(np.sum(reps * 16 * (x - 0.5) ** 2 * F * (1 - F)))
    result = P.interval_widths(STEPS, reps, 0.5, slope, 0.0, fit_lapse=False, n_simulations=400, seed=1)
    # 400 experiments: the 95 % range is known to about 5 %, the SD to about 4 %.
    assert result["pse_width"] == pytest.approx(2 * 1.96 * sd_pse, rel=0.08)
    assert result["slope_width"] == pytest.approx(2 * 1.96 * sd_slope, rel=0.08)
    assert result["pse_sd"] == pytest.approx(sd_pse, rel=0.08)
    assert result["slope_sd"] == pytest.approx(sd_slope, rel=0.08)


def test_trials_needed_picks_the_fewest_repetitions_that_meet_the_target():
    wide = P.interval_widths(STEPS, 5, n_simulations=60, seed=2)
    narrow = P.interval_widths(STEPS, 20, n_simulations=60, seed=2)
    assert narrow["pse_width"] < wide["pse_width"]
    target = (wide["pse_width"] + narrow["pse_width"]) / 2
    result = P.trials_needed(pse_width=target, reps_options=(5, 20, 40), n_simulations=60, seed=2)
    assert result["reps"] == 20 and result["n_trials"] == 20 * STEPS and len(result["rows"]) == 2
    assert P.trials_needed(pse_width=1e-4, reps_options=(5,), n_simulations=20)["reps"] is None
    with pytest.raises(InputError, match="give a target"):
        P.trials_needed()


def test_simulated_identification_follows_the_lapse_and_sigmoid():
    levels = np.repeat([0.0, 0.5, 0.7], 100_000)
    answers = P.simulate_identification(levels, 0.5, 2.0, 0.1, np.random.default_rng(0), sigmoid="normal")
    means = answers.reshape(3, -1).mean(axis=1)
    expected = 0.05 + 0.9 * stats.norm.cdf(math.sqrt(2 * math.pi) * 2.0 * (np.array([0.0, 0.5, 0.7]) - 0.5))
    assert np.max(np.abs(means - expected)) < 0.005


# --- values by hand behind the excess and the simulated observers --------------------------------

def test_boundary_proximity_is_one_at_the_pse_and_three_quarters_where_f_is_a_quarter():
    pse, slope = 0.4, 2.0
    quarter = pse - math.log(3) / (4 * slope)  # the logistic F is 1/4 there: 4 (1/4)(3/4) = 3/4
    assert D.boundary_proximity(np.array([pse, quarter]), pse, slope) == pytest.approx([1.0, 0.75], abs=1e-12)


def test_excess_intervals_are_the_central_ci_range_of_the_draws(monkeypatch):
    # One trial type, 14 of 20 correct, and a prediction held fixed: each observed draw is
    # 14/20 + B - E[B] with B ~ Beta(14.5, 6.5), so the 95 % interval is that of scipy's beta, shifted.
    estimate = {"pse": 0.5, "slope": 4.0, "lapse": 0.02}
    monkeypatch.setattr(psychometric, "fit", lambda *args, **kwargs: estimate)
    levels, answers = [[0.4, 0.6]] * 20, [1] * 14 + [0] * 6
    id_levels = np.repeat(np.linspace(0, 1, STEPS), 2)
    id_answers = (id_levels > 0.5).astype(float)
    pairs = D.excess_table("2afc", levels, answers, estimate, id_levels, id_answers, n_bootstrap=3000,
                           seed=1)["pairs"].iloc[0]
    expected = 0.7 + stats.beta.ppf([0.025, 0.975], 14.5, 6.5) - 14.5 / 21
    assert (pairs["observed_boot_low"], pairs["observed_boot_high"]) == pytest.approx(tuple(expected), abs=0.01)
    excess = expected - pairs["predicted_pc"]
    assert (pairs["excess_ci_low"], pairs["excess_ci_high"]) == pytest.approx(tuple(excess), abs=0.01)


def test_the_bootstrap_p_value_is_two_sided_by_hand():
    # draws -1, 1, 2, 3: (1 + 1) / 5 at or below 0, (3 + 1) / 5 at or above; twice the smaller
    assert D._percentile_p(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(0.8)
    assert D._percentile_p(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2 / 5)


@pytest.mark.parametrize("design, cells_per_pair", [("2afc", 1), ("abx", 2)])
def test_likelihood_ratio_p_values_come_from_their_reference_distributions(design, cells_per_pair):
    # The omnibus test: chi-square with one degree of freedom per cell (a pair in either order in 2AFC;
    # a pair with X at its low or at its high level in ABX). The one-sided tests: the upper tail of the
    # standard normal at the signed root of the statistic, so a clear excess gives a small p.
    rng = np.random.default_rng(5)
    id_levels = np.repeat(np.linspace(0, 1, STEPS), 6)
    id_answers = P.simulate_identification(id_levels, rng=rng, **TRUE)
    levels = trial_levels(design, 2, separation=2)
    answers = P.simulate_discrimination(design, levels, rng=rng, **TRUE)
    omnibus = D.excess_tests(design, levels, answers, id_levels, id_answers)["omnibus"]
    assert omnibus["df"] == cells_per_pair * (STEPS - 2)
    assert omnibus["p"] == pytest.approx(stats.chi2.sf(omnibus["statistic"], cells_per_pair * (STEPS - 2)))
    better = P.simulate_discrimination(design, np.tile(levels, (4, 1)), rng=rng, bump_d_prime=3.0, bump_width=0.3,
                                       **TRUE)
    tests = D.excess_tests(design, np.tile(levels, (4, 1)), better, id_levels, id_answers)
    for name in ("overall", "boundary", "location"):
        z = math.copysign(math.sqrt(tests[name]["statistic"]), tests[name]["coefficient"])
        assert tests[name]["p"] == pytest.approx(stats.norm.sf(z), abs=1e-12)
    assert tests["overall"]["z"] > 3 and tests["overall"]["p"] < 0.01


def test_the_simulated_bump_observers_have_the_d_prime_they_are_given():
    # A boundary far away (every image labelled A) and a bump wide enough to be flat: every answer
    # comes from the continuous comparison, correct with Phi(d'/sqrt 2) in 2AFC and, in ABX, the
    # differencing model's Phi(d'/sqrt 2) Phi(d'/sqrt 6) + Phi(-d'/sqrt 2) Phi(-d'/sqrt 6).
    n, bump = 40000, 1.5
    for design, correct in (("2afc", lambda d: stats.norm.cdf(d / math.sqrt(2))),
                            ("abx", lambda d: stats.norm.cdf(d / math.sqrt(2)) * stats.norm.cdf(d / math.sqrt(6))
                             + stats.norm.cdf(-d / math.sqrt(2)) * stats.norm.cdf(-d / math.sqrt(6)))):
        levels = np.tile([[0.4, 0.6, 0.4]] if design == "abx" else [[0.4, 0.6]], (n, 1))
        answers = P.simulate_discrimination(design, levels, 5.0, 4.0, 0.0, np.random.default_rng(6),
                                            bump_d_prime=bump, bump_width=100.0)
        d = bump * math.exp(-0.5 * ((0.5 - 5.0) / 100.0) ** 2)
        assert answers.mean() == pytest.approx(correct(d), abs=4 * math.sqrt(0.25 / n))


def test_interval_widths_are_the_central_ci_range_of_the_estimates(monkeypatch):
    # Fits that return the quantiles of a normal with SD 0.1: the 95 % range is 2 x 1.96 x 0.1 wide.
    n = 2000
    quantiles = iter(stats.norm.ppf((np.arange(n) + 0.5) / n, 0.5, 0.1))
    monkeypatch.setattr(psychometric, "fit", lambda *args, **kwargs: {"pse": next(quantiles), "slope": 4.0})
    widths = P.interval_widths(5, 2, n_simulations=n)
    assert widths["pse_width"] == pytest.approx(2 * stats.norm.ppf(0.975) * 0.1, abs=0.002)
