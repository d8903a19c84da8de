"""Mutation pass: plausible one-line science mistakes in gaia-stim, and the tests that catch them.

Each mutation is a mistake a careful author could make (a swapped column, an off-by-one, a wrong
constant, a missing factor, a sign flip, a hash of the wrong file, the wrong sort direction, a
skipped check), written as the exact original text of one module and its mutated text. The pass
copies the project (the files git tracks or would track: the working tree as it is, uncommitted
edits included) into a temporary folder, checks that the chosen tests pass there unmutated, then
applies the mutations one at a time to the copy, runs the few tests that guard that code, and
puts the file back. A mutation is *killed* when a test fails, and *survives* when every test
passes: then no test compares that result with an independently computed value. The project's
own folder is never written, except for the record.

    python benchmarks/mutation_pass.py [--only ID ...] [--tests-ref REF] [--label after]
                                       [--record docs/records/mutation_pass.json]

``--tests-ref REF`` takes ``tests/`` from a git commit instead of the working tree (the pass
before new tests were written: ``--tests-ref <commit> --label before``); tests a mutation names
that do not exist there are left out. Runs one mutation at a time, under ``nice``, with one
thread per numeric library.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 600  # one mutation's tests
BASELINE_TIMEOUT_S = 3600  # every chosen test, once, unmutated


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One mistake: ``original`` (found exactly once in ``module``) replaced by ``mutated``.

    ``mistake`` says what goes wrong for a user, ``kind`` what sort of slip it is, and ``tests`` are
    the pytest node ids that guard the code, fastest first (the run stops at the first failure).
    """

    id: str
    module: str
    original: str
    mutated: str
    mistake: str
    kind: str
    tests: tuple


M = Mutation
T_DESIGNS = "tests/test_designs.py"
T_TRIALS = "tests/test_trial_lists.py"
T_RECORDS = "tests/test_design_records.py"
T_ANALYSIS = "tests/test_analysis.py"
T_DISC = "tests/test_discrimination.py"
T_MLDS = "tests/test_mlds.py"
T_CONTINUA = "tests/test_continua.py"
T_COMMON = "tests/test_stimuli_common.py"
T_GRIDS = "tests/test_grids.py"
T_WHEELS = "tests/test_wheels.py"
T_MEANS = "tests/test_means.py"
T_LOWLEVEL = "tests/test_lowlevel.py"
T_METRICS = "tests/test_metrics.py"
T_SETS = "tests/test_sets.py"
T_RESULTS = "tests/test_stimulus_results.py"
T_PERCEPTUAL = "tests/test_perceptual_spacing.py"

MUTATIONS = [
    # ------------------------------------------------------------------ designs/records.py
    M("records-2afc-correct-side", "gaia_stim/designs/records.py",
      '"correct_side": "left" if left == low else "right",',
      '"correct_side": "right" if left == low else "left",',
      "2AFC marks the image nearer endpoint B as correct", "sign flip",
      (f"{T_DESIGNS}::test_2afc_balances_sides_and_marks_the_side_nearer_a",)),
    M("records-2afc-half", "gaia_stim/designs/records.py",
      "return 0.5 + 0.5 * (high - low)",
      "return 0.5 + (high - low)",
      "2AFC labelling prediction without the 1/2 on the label difference", "missing factor",
      (f"{T_RECORDS}::test_response_probabilities_match_hand_computed_values",)),
    M("records-abx-x-source", "gaia_stim/designs/records.py",
      "x_is_a = np.isclose(levels[:, 2], levels[:, 0])",
      "x_is_a = np.isclose(levels[:, 2], levels[:, 1])",
      "ABX prediction compares X with B's level to decide X's source", "swapped column",
      (f"{T_RECORDS}::test_response_probabilities_match_hand_computed_values",)),
    M("records-normal-slope", "gaia_stim/designs/records.py",
      "special.ndtr(math.sqrt(2.0 * math.pi) * slope * (x - pse))",
      "special.ndtr(math.sqrt(2.0) * slope * (x - pse))",
      "normal sigmoid scaled by sqrt(2) instead of sqrt(2 pi): slope is not dF/dx at the pse", "wrong constant",
      (f"{T_ANALYSIS}::test_the_sigmoids_have_their_pse_and_slope",)),
    M("records-logistic-slope", "gaia_stim/designs/records.py",
      "special.expit(4.0 * slope * (x - pse))",
      "special.expit(slope * (x - pse))",
      "logistic without the factor 4: slope is 4 times dF/dx at the pse", "missing factor",
      (f"{T_ANALYSIS}::test_the_sigmoids_have_their_pse_and_slope",)),
    M("records-same-different-same-pairs", "gaia_stim/designs/records.py",
      "((low, high), (high, low), (low, low), (high, high))",
      "((low, high), (high, low), (low, low), (low, low))",
      "same-different 'same' trials show only the lower image of each pair", "swapped column",
      (f"{T_DESIGNS}::test_same_different_is_half_same_and_shows_every_image_equally_often_per_pair",)),
    # ------------------------------------------------------------------ designs/orders.py
    M("orders-balancing-membership", "gaia_stim/designs/orders.py",
      "        membership[high] += 1\n",
      "        membership[low] += 1\n",
      "balancing pairs count a pair's lower image twice and its upper image never", "swapped column",
      (f"{T_TRIALS}::test_end_images_are_shown_less_often_unless_balanced",
       f"{T_TRIALS}::test_several_separations_are_balanced_together")),
    M("orders-can-follow-bound", "gaia_stim/designs/orders.py",
      "return self.top <= (n + 1) // 2 and",
      "return self.top <= n // 2 and",
      "no-repeat order bound floor(n/2) instead of ceil(n/2): refuses orders that exist", "off-by-one",
      (f"{T_TRIALS}::test_the_constrained_order_exists_exactly_when_some_order_exists",)),
    M("orders-block-boundary", "gaia_stim/designs/orders.py",
      "previous = keys[order[-1]]",
      "previous = keys[order[0]]",
      "the next block is kept apart from the first trial of the block before, not its last", "off-by-one",
      (f"{T_DESIGNS}::test_no_immediate_repeats_across_block_boundaries",)),
    M("orders-separation-range", "gaia_stim/designs/orders.py",
      "if not 1 <= separation <= n_steps - 1:",
      "if not 1 <= separation <= n_steps - 2:",
      "the largest step separation (first image with last) is refused", "off-by-one",
      (f"{T_DESIGNS}::test_the_largest_separation_pairs_the_first_image_with_the_last",
       f"{T_DESIGNS}::test_bad_design_options_raise_one_clear_error",
       f"{T_DESIGNS}::test_2afc_balances_sides_and_marks_the_side_nearer_a")),
    # ------------------------------------------------------------------ designs/trial_files.py
    M("trial-files-sort-by-step", "gaia_stim/designs/trial_files.py",
      'stimuli.sort(key=lambda s: (_levels_of(s), s["step"]))',
      'stimuli.sort(key=lambda s: (s["step"], _levels_of(s)))',
      "a set's images ordered by step number, not level: a table whose steps run against the morph level"
      " makes 2AFC mark the wrong image correct", "wrong sort key",
      (f"{T_DESIGNS}::test_2afc_correct_side_follows_the_morph_level_not_the_step_number",
       f"{T_DESIGNS}::test_trial_file_paths_resolve_relative_to_the_trial_file")),
    M("trial-files-relative-to-set", "gaia_stim/designs/trial_files.py",
      'stimulus["image_file"] = _relative(stimulus["path"], out_folder)',
      'stimulus["image_file"] = _relative(stimulus["path"], stimulus_dir)',
      "trial-list image paths relative to the set, not to the trial file", "wrong reference",
      (f"{T_DESIGNS}::test_trial_file_paths_resolve_relative_to_the_trial_file",)),
    M("trial-files-table-hash", "gaia_stim/designs/trial_files.py",
      '"table_sha256": file_sha256(os.path.join(stimulus_dir, TABLE_FILE)),',
      '"table_sha256": file_sha256(manifest),',
      "the sidecar's stimulus table sha256 is the manifest's", "hash of the wrong file",
      (f"{T_DESIGNS}::test_the_sidecar_hashes_are_those_of_the_files_named",
       f"{T_DESIGNS}::test_same_command_same_bytes")),
    M("trial-files-counts-key", "gaia_stim/designs/trial_files.py",
      '"shown": counts.get(stimulus["image_file"], 0)',
      '"shown": counts.get(stimulus["path"], 0)',
      "image counts looked up by absolute path: every image counted as never shown", "wrong key",
      (f"{T_TRIALS}::test_the_sidecar_counts_every_image_and_the_command_notes_unequal_counts",)),
    # ------------------------------------------------------------------ designs/mlds_trials.py
    M("mlds-trials-quadruple-order", "gaia_stim/designs/mlds_trials.py",
      "    return (c, d, a, b)\n",
      "    return (d, c, b, a)\n",
      "a quadruple shown upper pair first is reversed whole, not pair by pair (R's order is c, d, a, b)",
      "wrong order",
      (f"{T_MLDS}::test_rows_carry_images_steps_and_levels_in_presentation_order",)),
    M("mlds-trials-second-block", "gaia_stim/designs/mlds_trials.py",
      "if block % 2 == 1 else ~lower_first",
      "if block % 2 == 1 else lower_first",
      "the second block of a pair repeats each triad's order instead of showing the other", "sign flip",
      (f"{T_MLDS}::test_every_triad_or_quadruple_once_per_block_and_both_orders_over_two_blocks",)),
    M("mlds-trials-first-pair-label", "gaia_stim/designs/mlds_trials.py",
      'row["first_pair"] = "lower" if lower_first else "upper"',
      'row["first_pair"] = "upper" if lower_first else "lower"',
      "first_pair says upper when the lower pair comes first", "sign flip",
      (f"{T_MLDS}::test_rows_carry_images_steps_and_levels_in_presentation_order",)),
    M("mlds-trials-subset-argmax", "gaia_stim/designs/mlds_trials.py",
      "pick = int(np.argmin(load))",
      "pick = int(np.argmax(load))",
      "balanced subset adds the triad whose stimuli appeared most, not least", "wrong direction",
      (f"{T_MLDS}::test_a_random_subset_shows_every_stimulus_as_evenly_as_possible",)),
    # ------------------------------------------------------------------ analysis/psychometric.py
    M("psychometric-bootstrap-tail", "gaia_stim/analysis/psychometric.py",
      "tail = 100 * (1 - ci) / 2",
      "tail = 100 * (1 - ci)",
      "bootstrap interval computed at 90 % and labelled 95 %", "wrong constant",
      (f"{T_ANALYSIS}::test_bootstrap_interval_is_the_central_ci_range_of_the_refits",
       f"{T_ANALYSIS}::test_analyze_fits_participants_and_pooled_and_writes_summary_and_plot")),
    M("psychometric-slope-exp", "gaia_stim/analysis/psychometric.py",
      '"slope": float(math.exp(best.x[1])),',
      '"slope": float(best.x[1]),',
      "the fitted log slope reported as the slope", "missing transform",
      (f"{T_ANALYSIS}::test_fits_recover_the_observer",)),
    M("psychometric-lapse-half", "gaia_stim/analysis/psychometric.py",
      "return 0.5 * lapse + (1.0 - lapse) *",
      "return lapse + (1.0 - lapse) *",
      "a lapse answers 1 every time instead of guessing", "missing factor",
      (f"{T_ANALYSIS}::test_the_sigmoids_have_their_pse_and_slope",)),
    # ------------------------------------------------------------------ analysis/reports.py
    M("reports-slope-interval-index", "gaia_stim/analysis/reports.py",
      '"slope_ci_high": intervals["slope"][1],',
      '"slope_ci_high": intervals["slope"][0],',
      "summary's slope_ci_high is the interval's low end (copy-paste index)", "swapped column",
      (f"{T_ANALYSIS}::test_analyze_fits_participants_and_pooled_and_writes_summary_and_plot",)),
    M("reports-pooled-one", "gaia_stim/analysis/reports.py",
      "if len(participants) > 1:",
      "if len(participants) > 2:",
      "no pooled fit for two participants", "off-by-one",
      (f"{T_ANALYSIS}::test_analyze_fits_participants_and_pooled_and_writes_summary_and_plot",)),
    # ------------------------------------------------------------------ analysis/data_files.py
    M("data-files-level-columns", "gaia_stim/analysis/data_files.py",
      "levels = rows[list(columns[:-1])].to_numpy(dtype=np.float64)",
      "levels = rows[list(columns[1:])].to_numpy(dtype=np.float64)",
      "level columns read as columns[1:] (the response taken as a level, the first level dropped)",
      "swapped column",
      (f"{T_ANALYSIS}::test_a_plain_csv_without_bom_or_design_column_is_read_by_its_columns",)),
    M("data-files-join-responses", "gaia_stim/analysis/data_files.py",
      "                responses = np.concatenate([old_responses, responses])\n",
      "                responses = np.concatenate([responses, old_responses])\n",
      "a participant's second file: responses joined in the other order from the levels", "wrong order",
      (f"{T_ANALYSIS}::test_files_of_one_participant_are_joined_trial_for_trial",
       f"{T_ANALYSIS}::test_a_plain_csv_without_bom_or_design_column_is_read_by_its_columns")),
    # ------------------------------------------------------------------ analysis/discrimination.py
    M("disc-2afc-sqrt2", "gaia_stim/analysis/discrimination.py",
      "return math.sqrt(2.0) * special.ndtri(pc)",
      "return special.ndtri(pc)",
      "2AFC d' = z(Pc), without the sqrt 2", "missing factor",
      (f"{T_DISC}::test_2afc_d_prime_matches_macmillan_and_creelman",)),
    M("disc-2afc-rates-sqrt2", "gaia_stim/analysis/discrimination.py",
      "return (special.ndtri(h) - special.ndtri(f)) / math.sqrt(2.0)",
      "return special.ndtri(h) - special.ndtri(f)",
      "2AFC d' from hit and false-alarm rates without the 1/sqrt 2 (the yes-no formula)", "missing factor",
      (f"{T_DISC}::test_pair_table_counts_hits_false_alarms_and_d_prime_of_2afc_by_hand",)),
    M("disc-abx-models-swapped", "gaia_stim/analysis/discrimination.py",
      'second = math.sqrt(6.0) if model == "differencing" else 2.0',
      'second = 2.0 if model == "differencing" else math.sqrt(6.0)',
      "ABX differencing and independent-observation models swapped", "swapped constant",
      (f"{T_DISC}::test_abx_models_match_hand_values",)),
    M("disc-log-linear", "gaia_stim/analysis/discrimination.py",
      "np.where(n > 0, (k + 0.5) / (n + 1.0), np.nan)",
      "np.where(n > 0, (k + 0.5) / (n + 0.5), np.nan)",
      "log-linear correction adds 0.5 to the trials instead of 1", "wrong constant",
      (f"{T_DISC}::test_log_linear_rate_is_hautus",)),
    M("disc-wilson-z", "gaia_stim/analysis/discrimination.py",
      "z = special.ndtri(0.5 + ci / 2)",
      "z = special.ndtri(ci)",
      "Wilson interval with z = 1.645 (one-sided) at 95 %", "wrong constant",
      (f"{T_DISC}::test_wilson_and_exact_intervals_match_hand_values_and_scipy",)),
    M("disc-clopper-alpha", "gaia_stim/analysis/discrimination.py",
      "special.betaincinv(k, n - k + 1, alpha / 2)",
      "special.betaincinv(k, n - k + 1, alpha)",
      "Clopper-Pearson lower end at alpha, not alpha / 2", "wrong constant",
      (f"{T_DISC}::test_wilson_and_exact_intervals_match_hand_values_and_scipy",)),
    M("disc-same-different-criterion", "gaia_stim/analysis/discrimination.py",
      "criterion = -math.sqrt(2.0) * float(special.ndtri(alarm / 2))",
      "criterion = -math.sqrt(2.0) * float(special.ndtri(alarm))",
      "same-different criterion from z(F), not z(F / 2) (both tails of |x1 - x2|)", "missing factor",
      (f"{T_DISC}::test_same_different_rates_match_hand_values_and_simulation",)),
    M("disc-2afc-signal-side", "gaia_stim/analysis/discrimination.py",
      'low_on_left = _key(trials["levels"][:, 0]) < _key(trials["levels"][:, 1])',
      'low_on_left = _key(trials["levels"][:, 0]) > _key(trials["levels"][:, 1])',
      "2AFC signal trials are those with the lower level on the right", "sign flip",
      (f"{T_DISC}::test_pair_table_counts_hits_false_alarms_and_d_prime_of_2afc_by_hand",)),
    M("disc-excess-sign", "gaia_stim/analysis/discrimination.py",
      'table["excess"] = table["proportion_correct"].to_numpy() - pc',
      'table["excess"] = pc - table["proportion_correct"].to_numpy()',
      "excess as predicted minus observed", "sign flip",
      (f"{T_DISC}::test_excess_analysis_summary_and_curve_of_a_boundary_bump",)),
    M("disc-proximity-factor", "gaia_stim/analysis/discrimination.py",
      "return 4.0 * F * (1.0 - F)",
      "return F * (1.0 - F)",
      "boundary proximity F(1 - F), 1/4 at the boundary instead of 1", "missing factor",
      (f"{T_DISC}::test_boundary_proximity_is_one_at_the_pse_and_three_quarters_where_f_is_a_quarter",
       f"{T_DISC}::test_excess_analysis_summary_and_curve_of_a_boundary_bump")),
    M("disc-excess-tail", "gaia_stim/analysis/discrimination.py",
      "    tail = 100 * (1 - ci) / 2\n    for (low, high), draws in zip(",
      "    tail = 100 * (1 - ci)\n    for (low, high), draws in zip(",
      "excess bootstrap intervals computed at 90 % and labelled 95 %", "wrong constant",
      (f"{T_DISC}::test_excess_intervals_are_the_central_ci_range_of_the_draws",
       f"{T_DISC}::test_excess_bootstrap_is_seeded_and_varies_when_every_answer_is_correct")),
    M("disc-percentile-p-two-sided", "gaia_stim/analysis/discrimination.py",
      "return np.minimum(1.0, 2 * np.minimum(below, above))",
      "return np.minimum(1.0, np.minimum(below, above))",
      "two-sided bootstrap p-value reported one-sided (half)", "missing factor",
      (f"{T_DISC}::test_the_bootstrap_p_value_is_two_sided_by_hand",
       f"{T_DISC}::test_excess_bootstrap_is_seeded_and_varies_when_every_answer_is_correct")),
    M("disc-lr-tail", "gaia_stim/analysis/discrimination.py",
      'return {"statistic": statistic, "z": z, "p": float(stats.norm.sf(z)),',
      'return {"statistic": statistic, "z": z, "p": float(stats.norm.cdf(z)),',
      "one-sided likelihood-ratio p from the lower tail", "wrong tail",
      (f"{T_DISC}::test_likelihood_ratio_p_values_come_from_their_reference_distributions",
       f"{T_DISC}::test_a_boundary_excess_is_detected_and_the_labelling_observer_is_not_flagged")),
    M("disc-omnibus-df", "gaia_stim/analysis/discrimination.py",
      "    df = model.n_cells\n",
      "    df = model.n_cells - 1\n",
      "omnibus chi-square with one degree of freedom fewer than its cells", "off-by-one",
      (f"{T_DISC}::test_likelihood_ratio_p_values_come_from_their_reference_distributions",
       f"{T_DISC}::test_a_boundary_excess_is_detected_and_the_labelling_observer_is_not_flagged")),
    # ------------------------------------------------------------------ analysis/mlds_model.py
    M("mlds-design-weight", "gaia_stim/analysis/mlds_model.py",
      "(high_1, -1.0), (low_1, 1.0)):",
      "(high_1, -1.0), (low_1, -1.0)):",
      "design matrix gives the first pair's lower stimulus -1", "sign flip",
      (f"{T_MLDS}::test_design_matrix_has_the_r_packages_weights",)),
    M("mlds-triad-second-pair", "gaia_stim/analysis/mlds_model.py",
      "second = trials[:, [1, 2]] if trials.shape[1] == 3 else trials[:, [2, 3]]",
      "second = trials[:, [0, 2]] if trials.shape[1] == 3 else trials[:, [2, 3]]",
      "a triad's second pair taken as (a, c) instead of (b, c)", "swapped column",
      (f"{T_MLDS}::test_design_matrix_has_the_r_packages_weights",)),
    M("mlds-sigma", "gaia_stim/analysis/mlds_model.py",
      '"sigma": float(1.0 / glm_scale[-1]),',
      '"sigma": float(glm_scale[-1]),',
      "sigma reported as the GLM's last scale value, not its inverse", "missing transform",
      (f"{T_MLDS}::test_fit_recovers_a_non_linear_scale_and_sigma_within_their_intervals",)),
    M("mlds-runs-order", "gaia_stim/analysis/mlds_model.py",
      'order = np.argsort(np.asarray(fitted), kind="stable")',
      'order = np.argsort(np.asarray(residuals), kind="stable")',
      "runs counted in order of residual, not fitted value", "wrong sort key",
      (f"{T_MLDS}::test_runs_are_sign_changes_in_order_of_fitted_value",)),
    M("mlds-runs-p", "gaia_stim/analysis/mlds_model.py",
      '"runs_p": float(np.mean(np.array(runs) <= data_runs)),',
      '"runs_p": float(np.mean(np.array(runs) < data_runs)),',
      "runs p-value counts samples with fewer runs only (R counts as few or fewer)", "off-by-one",
      (f"{T_MLDS}::test_runs_p_counts_samples_with_as_few_runs_or_fewer",
       f"{T_MLDS}::test_the_runs_test_flags_an_observer_the_model_does_not_describe")),
    M("mlds-group-df", "gaia_stim/analysis/mlds_model.py",
      "factor = stats.t.ppf(0.5 + ci / 2.0, count - 1) / math.sqrt(count)",
      "factor = stats.t.ppf(0.5 + ci / 2.0, count) / math.sqrt(count)",
      "group scale t interval with n degrees of freedom, not n - 1", "off-by-one",
      (f"{T_MLDS}::test_group_scale_is_the_mean_with_a_t_interval",)),
    # ------------------------------------------------------------------ analysis/power.py
    M("power-lapse-guess", "gaia_stim/analysis/power.py",
      "return np.where(lapsed, rng.random(len(levels)) < 0.5, labels).astype(np.float64)",
      "return np.where(lapsed, 1.0, labels).astype(np.float64)",
      "a simulated lapse always answers B instead of guessing", "wrong constant",
      (f"{T_DISC}::test_simulated_identification_follows_the_lapse_and_sigmoid",)),
    M("power-width-tail", "gaia_stim/analysis/power.py",
      "    tail = 100 * (1 - ci) / 2\n    (pse_low",
      "    tail = 100 * (1 - ci)\n    (pse_low",
      "interval widths read at 90 % and labelled 95 %", "wrong constant",
      (f"{T_DISC}::test_interval_widths_are_the_central_ci_range_of_the_estimates",
       f"{T_DISC}::test_interval_widths_match_the_fisher_information_of_the_logistic")),
    M("power-2afc-continuous", "gaia_stim/analysis/power.py",
      "continuous = rng.random(n) < special.ndtr(d_prime / math.sqrt(2.0))  # correct by the percept",
      "continuous = rng.random(n) < special.ndtr(d_prime)  # correct by the percept",
      "simulated 2AFC bump observer correct with Phi(d'), not Phi(d'/sqrt 2)", "missing factor",
      (f"{T_DISC}::test_the_simulated_bump_observers_have_the_d_prime_they_are_given",
       f"{T_DISC}::test_a_boundary_excess_is_detected_and_the_labelling_observer_is_not_flagged")),
    # ------------------------------------------------------------------ analysis/groups.py
    M("groups-t-vs-z", "gaia_stim/analysis/groups.py",
      "half = float(stats.t.ppf(0.5 + ci / 2, n - 1)) * se",
      "half = float(stats.norm.ppf(0.5 + ci / 2)) * se",
      "group interval with z = 1.96 instead of t(n - 1)", "wrong constant",
      (f"{T_DISC}::test_group_mean_matches_scipy_t_interval_and_t_test",)),
    M("groups-sd-ddof", "gaia_stim/analysis/groups.py",
      "sd = float(np.std(values, ddof=1))",
      "sd = float(np.std(values))",
      "between-participant SD with n, not n - 1", "off-by-one",
      (f"{T_DISC}::test_group_mean_matches_scipy_t_interval_and_t_test",)),
    M("groups-p-greater", "gaia_stim/analysis/groups.py",
      "p_greater = float(2 * stats.t.sf(abs(t), n - 1)), float(stats.t.sf(t, n - 1))",
      "p_greater = float(2 * stats.t.sf(abs(t), n - 1)), float(stats.t.cdf(t, n - 1))",
      "one-sided p of mean > 0 from the lower tail", "wrong tail",
      (f"{T_DISC}::test_group_mean_matches_scipy_t_interval_and_t_test",)),
    # ------------------------------------------------------------------ stimuli/continua.py
    M("continua-path-direction", "gaia_stim/stimuli/continua.py",
      "return (1.0 - fraction) * codes[segment] + fraction * codes[segment + 1]",
      "return fraction * codes[segment] + (1.0 - fraction) * codes[segment + 1]",
      "the latent path runs from B to A", "wrong direction",
      (f"{T_CONTINUA}::test_range_extrapolates_along_the_line",)),
    M("continua-linear-levels", "gaia_stim/stimuli/continua.py",
      "levels = low + (high - low) * (np.arange(n_steps, dtype=np.float64) / (n_steps - 1))",
      "levels = low + (high - low) * (np.arange(n_steps, dtype=np.float64) / n_steps)",
      "linear levels divided by n_steps: the last step falls short of the end", "off-by-one",
      (f"{T_CONTINUA}::test_range_extrapolates_along_the_line",)),
    M("continua-row-distance", "gaia_stim/stimuli/continua.py",
      "column: float(steps[step - 1]) if step else 0.0}",
      "column: float(steps[step]) if step < len(steps) else 0.0}",
      "each row records its distance to the next image, not the one before", "off-by-one",
      (f"{T_CONTINUA}::test_each_row_records_its_distance_and_the_manifest_the_cv",)),
    M("continua-perceptual-bisection", "gaia_stim/stimuli/continua.py",
      "reached = curve(middle) >= targets",
      "reached = curve(middle) <= targets",
      "perceptual steps: bisection keeps the wrong half", "sign flip",
      (f"{T_PERCEPTUAL}::test_the_steps_invert_a_known_scale",)),
    # ------------------------------------------------------------------ stimuli/_common.py
    M("equal-steps-first-pass-inverted", "gaia_stim/stimuli/_common.py",
      "new = np.interp(targets, arc, knots)",
      "new = np.interp(targets, knots, arc)",
      "equal spacing's first pass interpolates arc length at the levels instead of levels at the arc"
      " length (hidden by the refinement rounds)", "inverted function",
      (f"{T_COMMON}::test_the_first_pass_of_equal_spacing_inverts_the_arc_length",
       f"{T_CONTINUA}::test_equal_pixel_spacing_makes_equal_steps")),
    M("equal-steps-exponent", "gaia_stim/stimuli/_common.py",
      "(steps.mean() / steps) ** (1.0 / exponent)",
      "(steps.mean() / steps) ** exponent",
      "refinement raises the width ratio to the exponent instead of its inverse", "inverted function",
      (f"{T_CONTINUA}::test_equal_pixel_spacing_makes_equal_steps",
       f"{T_CONTINUA}::test_equal_ssim_spacing")),
    M("equal-steps-keeps-worst", "gaia_stim/stimuli/_common.py",
      "if best is None or cv < best[0]:",
      "if best is None or cv > best[0]:",
      "equal spacing returns its least equal round", "wrong direction",
      (f"{T_COMMON}::test_equal_spacing_refines_a_coarse_first_pass_until_the_steps_are_equal",
       f"{T_CONTINUA}::test_equal_pixel_spacing_makes_equal_steps")),
    # ------------------------------------------------------------------ stimuli/grids.py
    M("grids-plane-axis", "gaia_stim/stimuli/grids.py",
      "return codes[0] + uu * (codes[1] - codes[0]) + vv * (codes[2] - codes[0])",
      "return codes[0] + uu * (codes[1] - codes[0]) + vv * (codes[2] - codes[1])",
      "the grid's v axis runs from B to C instead of from A to C", "wrong reference",
      (f"{T_GRIDS}::test_three_image_grid_spans_the_plane",)),
    M("grids-corners-swapped", "gaia_stim/stimuli/grids.py",
      "uu * (1 - vv) * codes[1] + (1 - uu) * vv * codes[2]",
      "uu * (1 - vv) * codes[2] + (1 - uu) * vv * codes[1]",
      "four-corner grid puts B bottom left and C top right", "swapped column",
      (f"{T_GRIDS}::test_four_corner_grid_is_bilinear",)),
    M("grids-row-levels", "gaia_stim/stimuli/grids.py",
      'rows.append({"row": row, "column": column, "u": float(u[column]), "v": float(v[row])})',
      'rows.append({"row": row, "column": column, "u": float(u[row]), "v": float(v[column])})',
      "a grid's table records u by row and v by column", "swapped column",
      (f"{T_GRIDS}::test_three_image_grid_spans_the_plane",
       f"{T_TRIALS}::test_a_grid_gives_two_level_identification")),
    # ------------------------------------------------------------------ stimuli/wheels.py
    M("wheels-gram-schmidt", "gaia_stim/stimuli/wheels.py",
      "e2 = to_b - (to_b @ e1) * e1",
      "e2 = to_b.copy()",
      "wheel plane not orthogonalised: an ellipse, not a circle", "missing step",
      (f"{T_WHEELS}::test_wheel_is_a_circle_of_the_given_radius",)),
    M("wheels-default-radius", "gaia_stim/stimuli/wheels.py",
      "default_radius = float((np.linalg.norm(to_a) + np.linalg.norm(to_b)) / 4)",
      "default_radius = float((np.linalg.norm(to_a) + np.linalg.norm(to_b)) / 2)",
      "default radius the whole mean distance of a and b, not half of it", "missing factor",
      (f"{T_WHEELS}::test_the_default_wheel_radius_is_half_the_mean_distance_to_a_and_b",
       f"{T_WHEELS}::test_wheel_is_a_circle_of_the_given_radius",
       f"{T_WHEELS}::test_equal_wheel_has_equal_neighbour_distances")),
    M("wheels-row-distance", "gaia_stim/stimuli/wheels.py",
      "previous = np.roll(steps, 1)",
      "previous = steps",
      "each wheel row records its distance to the next image, not the one before", "off-by-one",
      (f"{T_WHEELS}::test_each_wheel_row_records_the_distance_to_the_image_before_it",
       f"{T_WHEELS}::test_equal_wheel_has_equal_neighbour_distances")),
    M("wheels-angles", "gaia_stim/stimuli/wheels.py",
      "angles = 2 * np.pi * np.arange(n_images) / n_images",
      "angles = 2 * np.pi * np.arange(n_images) / (n_images - 1)",
      "wheel angles divided by n - 1: the last image repeats the first", "off-by-one",
      (f"{T_WHEELS}::test_wheel_is_a_circle_of_the_given_radius",)),
    # ------------------------------------------------------------------ stimuli/means.py
    M("means-first-two", "gaia_stim/stimuli/means.py",
      "decode(model, codes.mean(axis=0, keepdims=True))",
      "decode(model, codes[:2].mean(axis=0, keepdims=True))",
      "the mean image averages only the first two codes", "off-by-one",
      (f"{T_MEANS}::test_mean_image_is_the_decoded_mean_code",)),
    # ------------------------------------------------------------------ stimuli/lowlevel.py
    M("lowlevel-contrast-units", "gaia_stim/stimuli/lowlevel.py",
      'scale = self.targets["rms_contrast"] * 255 / deviation if deviation > 0 else 0.0',
      'scale = self.targets["rms_contrast"] / deviation if deviation > 0 else 0.0',
      "luminance matching scales to the target contrast in 0..1 units on 0..255 pixels: every image"
      " flattened to contrast ~0.001", "missing factor",
      (f"{T_LOWLEVEL}::test_luminance_matching_reaches_the_sets_mean_luminance_and_contrast",
       f"{T_LOWLEVEL}::test_luminance_matching_equalises_mean_and_contrast")),
    M("lowlevel-figure-contrast-units", "gaia_stim/stimuli/lowlevel.py",
      'target_sd = self.targets["mean_luminance"] * 255, self.targets["rms_contrast"] * 255',
      'target_sd = self.targets["mean_luminance"] * 255, self.targets["rms_contrast"]',
      "figure matching aims at the target contrast in 0..1 units on 0..255 pixels", "missing factor",
      (f"{T_LOWLEVEL}::test_figure_matching_reaches_the_figures_mean_luminance_and_contrast",)),
    M("lowlevel-target-median", "gaia_stim/stimuli/lowlevel.py",
      '"mean_luminance": float(np.mean(means)) / 255,',
      '"mean_luminance": float(np.median(means)) / 255,',
      "the target luminance is the median of the images' means, not their mean", "wrong statistic",
      (f"{T_LOWLEVEL}::test_luminance_matching_reaches_the_sets_mean_luminance_and_contrast",
       f"{T_LOWLEVEL}::test_luminance_matching_equalises_mean_and_contrast")),
    M("lowlevel-histogram-quantiles", "gaia_stim/stimuli/lowlevel.py",
      "quantiles = (np.arange(len(values)) + 0.5) / len(values)",
      "quantiles = np.arange(len(values)) / len(values)",
      "histogram specification reads the pooled quantiles half a rank low", "off-by-one",
      (f"{T_LOWLEVEL}::test_histogram_matching_gives_every_image_the_pooled_histogram",
       f"{T_LOWLEVEL}::test_histogram_matching_gives_equal_histograms")),
    M("lowlevel-oval-axes", "gaia_stim/stimuli/lowlevel.py",
      "radius = np.hypot((x - centre) / (0.75 * size / 2), (y - centre) / (size / 2))",
      "radius = np.hypot((x - centre) / (size / 2), (y - centre) / (0.75 * size / 2))",
      "the oval mask lies on its side (wide, not tall)", "swapped column",
      (f"{T_LOWLEVEL}::test_masks_greyscale_and_size",)),
    # ------------------------------------------------------------------ stimuli/attributes.py
    M("attributes-axes-hash", "gaia_stim/stimuli/attributes.py",
      '"axes_sha256": file_sha256(axes_path) if axes_file else None,',
      '"axes_sha256": file_sha256(image_file) if axes_file and image_file else None,',
      "the attribute set records the image's sha256 as the axes file's", "hash of the wrong file",
      (f"{T_RESULTS}::test_an_attribute_set_records_the_sha256_of_its_axes_file",
       f"{T_RESULTS}::test_an_attribute_set_and_its_report_are_what_the_kind_computes")),
    # ------------------------------------------------------------------ metrics.py
    M("metrics-cv-ddof", "gaia_stim/metrics.py",
      "return float(values.std() / values.mean())",
      "return float(values.std(ddof=1) / values.mean())",
      "coefficient of variation with the sample SD (documented: population SD)", "off-by-one",
      (f"{T_CONTINUA}::test_each_row_records_its_distance_and_the_manifest_the_cv",)),
    M("metrics-closed-roll", "gaia_stim/metrics.py",
      "following = np.roll(images, -1, axis=0) if closed else images[1:]",
      "following = np.roll(images, 1, axis=0) if closed else images[1:]",
      "around a loop, each image compared with the one before it, not the next", "wrong direction",
      (f"{T_METRICS}::test_step_distances_around_a_loop_go_to_the_next_image",
       f"{T_WHEELS}::test_equal_wheel_has_equal_neighbour_distances")),
    M("metrics-ssim-complement", "gaia_stim/metrics.py",
      "1.0 - structural_similarity(x, y, data_range=1.0, channel_axis=-1) for x, y in zip(a, b)",
      "structural_similarity(x, y, data_range=1.0, channel_axis=-1) for x, y in zip(a, b)",
      "the ssim distance is SSIM itself, not 1 - SSIM", "sign flip",
      (f"{T_METRICS}::test_metrics_zero_for_identical_and_known_pixel_value",)),
    # ------------------------------------------------------------------ io/tables.py
    M("tables-case", "gaia_stim/io/tables.py",
      "if stripped.lower() in _NON_TEXT_WORDS:",
      "if stripped in _NON_TEXT_WORDS:",
      "text such as 'NaN' or 'True' is not recognised as non-text (case)", "wrong comparison",
      (f"{T_SETS}::test_looks_like_non_text",)),
    M("tables-float-format", "gaia_stim/io/tables.py",
      "        return repr(float(value))\n",
      "        return f\"{float(value):g}\"\n",
      "float cells written with 6 significant digits", "lost precision",
      (f"{T_SETS}::test_float_cells_read_back_as_the_same_numbers",
       f"{T_SETS}::test_table_is_ready_for_psychopy")),
    # ------------------------------------------------------------------ io/sets.py
    M("sets-prepared-hash", "gaia_stim/io/sets.py",
      'other_files = [{"file": record[key], "sha256": file_sha256(os.path.join(temporary, record[key]))}',
      'other_files = [{"file": record[key], "sha256": file_sha256(os.path.join(temporary, record["given_file"]))}',
      "the manifest records the given source's sha256 for the prepared copy too", "hash of the wrong file",
      (f"{T_SETS}::test_verify_passes_then_names_an_altered_image",)),
    M("sets-verify-extra", "gaia_stim/io/sets.py",
      "if relative != MANIFEST_FILE and relative not in listed:",
      "if relative != MANIFEST_FILE and relative not in listed and False:",
      "verify ignores files the manifest does not list", "skipped check",
      (f"{T_SETS}::test_verify_names_an_added_file_and_a_missing_one",)),
    M("sets-row-luminance", "gaia_stim/io/sets.py",
      "grey = luminance(pixels) / 255.0  # (B, H, W)",
      "grey = pixels.mean(axis=-1) / 255.0  # (B, H, W)",
      "table luminance is the plain mean of R, G and B, not BT.601 luma", "wrong weights",
      (f"{T_SETS}::test_the_table_luminance_of_a_colour_image_is_bt601",
       f"{T_SETS}::test_table_is_ready_for_psychopy")),
    # ------------------------------------------------------------------ io/images.py
    M("images-truncate", "gaia_stim/io/images.py",
      "return np.round(np.clip(images.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)",
      "return (np.clip(images.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)",
      "8-bit conversion truncates instead of rounding", "off-by-one",
      (f"{T_SETS}::test_png_pixels_are_the_rounded_images",)),
    M("images-hash-shape", "gaia_stim/io/images.py",
      'digest.update(f"{array.dtype.str}{array.shape}".encode())',
      'digest.update(array.dtype.str.encode())',
      "array sha256 leaves out the shape: a 2 x 3 and a 3 x 2 image hash alike", "missing field",
      (f"{T_SETS}::test_array_sha256_covers_dtype_shape_and_bytes",
       f"{T_SETS}::test_array_sources_and_numeric_looking_names")),
    M("images-luma-709", "gaia_stim/io/images.py",
      "LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])",
      "LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])",
      "luminance with BT.709 weights, not BT.601 (Pillow's L)", "wrong constant",
      (f"{T_SETS}::test_the_table_luminance_of_a_colour_image_is_bt601",
       f"{T_LOWLEVEL}::test_masks_greyscale_and_size")),
    # ------------------------------------------------------------------ core/ownership.py
    M("ownership-skip-check", "gaia_stim/core/ownership.py",
      "    _check_owned(out_dir, format_name, what)\n    return True\n",
      "    return True\n",
      "--force replaces a folder without checking that gaia-stim wrote it", "skipped check",
      (f"{T_SETS}::test_force_never_deletes_what_gaia_stim_did_not_write",
       f"{T_SETS}::test_force_never_replaces_a_folder_that_is_not_a_set")),
    M("ownership-file-skip-check", "gaia_stim/core/ownership.py",
      "if os.path.islink(path) or not os.path.isfile(path) or owned is None or not owned(path):",
      "if os.path.islink(path) or not os.path.isfile(path):",
      "--force replaces any existing file without asking whether gaia-stim wrote it", "skipped check",
      (f"{T_DESIGNS}::test_force_replaces_only_a_trial_list_gaia_stim_wrote",)),
]


# ------------------------------------------------------------------------------------------------
# the copy


def _git(*arguments, cwd=ROOT):
    return subprocess.run(["git", *arguments], cwd=cwd, check=True, capture_output=True).stdout


def _copy_project(destination, tests_ref=None):
    """The working tree's files (tracked, or untracked and not ignored) into ``destination``."""
    names = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").decode().split("\0")
    for name in names:
        source = os.path.join(ROOT, name)
        if not name or not os.path.isfile(source):  # deleted in the working tree
            continue
        if tests_ref and name.startswith("tests/"):
            continue
        target = os.path.join(destination, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    if tests_ref:
        archive = subprocess.run(["git", "archive", tests_ref, "tests"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", destination], input=archive.stdout, check=True)


def _environment(copy):
    env = dict(os.environ)
    env.update(PYTHONPATH=copy, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", MPLBACKEND="Agg",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _existing(copy, tests):
    """The node ids of ``tests`` whose file and test function exist in the copy."""
    kept = []
    for node in tests:
        path, _, name = node.partition("::")
        file = os.path.join(copy, path)
        if not os.path.isfile(file):
            continue
        if name and not re.search(rf"^def {re.escape(name.split('[')[0])}\(", open(file).read(), re.M):
            continue
        kept.append(node)
    return kept


def _pytest(copy, nodes, exitfirst=True, timeout=TIMEOUT_S):
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "--no-header",
               "-W", "ignore::DeprecationWarning", *(["-x"] if exitfirst else []), *nodes]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=copy, env=_environment(copy), capture_output=True, text=True,
                              timeout=timeout)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as error:
        output = error.stdout or ""
        code, output = "timeout", output.decode(errors="replace") if isinstance(output, bytes) else output
    return code, output, time.monotonic() - start


def _failed(output):
    # node ids may hold spaces (parametrize ids); pytest ends the id with " - " and the message, if any
    return [match.split(" - ")[0] for match in re.findall(r"^(?:FAILED|ERROR) (.+)$", output, re.M)]


# ------------------------------------------------------------------------------------------------
# the pass


def _check_mutation(copy, mutation):
    """The module's text if ``mutation.original`` occurs exactly once and the mutated module compiles."""
    path = os.path.join(copy, mutation.module)
    if not os.path.isfile(path):
        return None, f"{mutation.module} is missing"
    text = open(path, encoding="utf-8").read()
    count = text.count(mutation.original)
    if count != 1:
        return None, f"the original text occurs {count} times in {mutation.module}"
    mutated = text.replace(mutation.original, mutation.mutated)
    try:
        compile(mutated, path, "exec")
    except SyntaxError as error:
        return None, f"the mutated module does not compile ({error})"
    return text, None


def run_pass(mutations, tests_ref=None, keep=False):
    copy = tempfile.mkdtemp(prefix="gaia-stim-mutation-")
    try:
        _copy_project(copy, tests_ref)
        where = subprocess.run([sys.executable, "-c", "import gaia_stim; print(gaia_stim.__file__)"], cwd=copy,
                               env=_environment(copy), capture_output=True, text=True, check=True).stdout.strip()
        if not where.startswith(copy + os.sep):
            raise SystemExit(f"the copy's gaia_stim is not the one imported ({where}); stopping")
        selections = {mutation.id: _existing(copy, mutation.tests) for mutation in mutations}
        every = sorted({node for nodes in selections.values() for node in nodes})
        print(f"copy: {copy}; baseline: {len(every)} tests", flush=True)
        code, output, seconds = _pytest(copy, every, exitfirst=False, timeout=BASELINE_TIMEOUT_S)
        broken = set(_failed(output))
        if code not in (0, 1) or (code == 1 and not broken):
            raise SystemExit(f"the unmutated tests did not run (exit {code}):\n{output[-3000:]}")
        print(f"baseline: {len(every) - len(broken)} pass, {len(broken)} fail ({seconds:.0f} s)"
              + (f": {', '.join(sorted(broken))}" if broken else ""), flush=True)
        rows = []
        for number, mutation in enumerate(mutations, start=1):
            nodes = [node for node in selections[mutation.id] if node not in broken]
            row = {"id": mutation.id, "module": mutation.module, "mistake": mutation.mistake, "kind": mutation.kind,
                   "tests": nodes, "status": None, "killed_by": None, "seconds": 0.0}
            text, problem = _check_mutation(copy, mutation)
            if problem:
                row.update(status="invalid", note=problem)
            elif not nodes:
                row.update(status="survived", note="no test guards it")
            else:
                path = os.path.join(copy, mutation.module)
                with open(path, "w", encoding="utf-8") as stream:
                    stream.write(text.replace(mutation.original, mutation.mutated))
                try:
                    code, output, seconds = _pytest(copy, nodes)
                finally:
                    with open(path, "w", encoding="utf-8") as stream:
                        stream.write(text)
                row["seconds"] = round(seconds, 1)
                failed = _failed(output)
                if code == 0:
                    row["status"] = "survived"
                elif code == "timeout":
                    row.update(status="killed", killed_by=f"timeout after {TIMEOUT_S} s")
                elif code in (1, 2) and failed:
                    row.update(status="killed", killed_by=failed[0])
                else:
                    row.update(status="invalid", note=f"pytest exit {code}: {output.strip().splitlines()[-1:]}")
            rows.append(row)
            print(f"[{number}/{len(mutations)}] {row['status']:<8} {mutation.id}"
                  + (f"  <- {row['killed_by']}" if row["killed_by"] else "")
                  + (f"  ({row['note']})" if row.get("note") else ""), flush=True)
        return rows, sorted(broken)
    finally:
        if keep:
            print(f"kept the copy at {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)


def summary(rows):
    """Killed, survived and the kill ratio (invalid mutations, whose tests could not run, left out)."""
    counted = [row for row in rows if row["status"] in ("killed", "survived")]
    killed = sum(row["status"] == "killed" for row in counted)
    return {"killed": killed, "survived": len(counted) - killed, "invalid": len(rows) - len(counted),
            "total": len(counted), "kill_ratio": round(killed / len(counted), 4) if counted else None}


def _by(rows, key):
    """``{value of key: "killed/total"}``, e.g. per module or per kind of mistake."""
    groups = {}
    for row in rows:
        if row["status"] in ("killed", "survived"):
            killed, total = groups.get(row[key], (0, 0))
            groups[row[key]] = (killed + (row["status"] == "killed"), total + 1)
    return {name: f"{killed}/{total}" for name, (killed, total) in sorted(groups.items())}


def print_table(rows):
    """Each mutation: its id, module, status and the test that killed it, and the mistake below."""
    width = max(len(row["id"]) for row in rows)
    print(f"\n{'mutation':<{width}}  {'module':<26}  {'status':<8}  killed by")
    for row in rows:
        module = row["module"].replace("gaia_stim/", "")
        killer = (row["killed_by"] or row.get("note") or "").replace("tests/", "")
        print(f"{row['id']:<{width}}  {module:<26}  {row['status']:<8}  {killer}\n{'':<{width}}  {row['mistake']}")
    counts = summary(rows)
    print(f"\nkilled {counts['killed']} of {counts['total']} ({100 * (counts['kill_ratio'] or 0):.1f} %),"
          f" {counts['survived']} survived, {counts['invalid']} invalid")


def write_record(path, label, rows, broken, tests_ref, arguments, partial):
    """Write the run ``label`` into the JSON record at ``path``; a partial run (``--only``) updates its rows."""
    record = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as stream:
            record = json.load(stream)
    runs = record.setdefault("runs", {})
    command = "python benchmarks/mutation_pass.py " + " ".join(arguments)
    if partial and label in runs:
        order = {mutation.id: number for number, mutation in enumerate(MUTATIONS)}
        merged = {row["id"]: row for row in runs[label]["rows"] if row["id"] in order}
        merged.update({row["id"]: row for row in rows})
        rows = sorted(merged.values(), key=lambda row: order[row["id"]])
        commands = runs[label].get("commands", [runs[label].get("command")]) + [command]
        broken = sorted(set(runs[label].get("baseline_failures", [])) | set(broken))
    else:
        commands = [command]
    dirty = _git("status", "--porcelain", "--", "gaia_stim", "tests").decode().splitlines()
    runs[label] = {
        "commands": commands,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}",
        "source": f"working tree at {_git('rev-parse', 'HEAD').decode().strip()}"
                  + (f" with {len(dirty)} changed or new files in gaia_stim/ and tests/" if dirty else ""),
        "tests": f"tests/ of {tests_ref}" if tests_ref else "tests/ of the working tree",
        "baseline_failures": broken,
        **summary(rows),
        "by_module": _by(rows, "module"),
        "by_kind": _by(rows, "kind"),
        "rows": rows,
    }
    record["runs"] = dict(sorted(runs.items(), key=lambda item: item[0] != "before"))
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=2)
        stream.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="run these mutation ids only")
    parser.add_argument("--tests-ref", default=None, help="take tests/ from this git commit")
    parser.add_argument("--label", default="after", help="the run's name in the record (e.g. before, after)")
    parser.add_argument("--record", default=None, help="merge this run into a JSON record")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args()
    ids = [mutation.id for mutation in MUTATIONS]
    duplicates = {name for name in ids if ids.count(name) > 1}
    if duplicates:
        raise SystemExit(f"mutation ids used twice: {', '.join(sorted(duplicates))}")
    if args.list:
        for mutation in MUTATIONS:
            print(f"{mutation.id:<36} {mutation.module:<38} {mutation.mistake}")
        return
    chosen = MUTATIONS if args.only is None else [m for m in MUTATIONS if m.id in set(args.only)]
    unknown = set(args.only or ()) - set(ids)
    if unknown:
        raise SystemExit(f"no mutation called {', '.join(sorted(unknown))}")
    try:
        os.nice(max(0, 10 - os.nice(0)))  # nice 10, as every long job here runs
    except OSError:
        pass
    # a terminated pass stops its pytest and removes its copy, as an interrupted one does
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    rows, broken = run_pass(chosen, args.tests_ref, args.keep)
    print_table(rows)
    if args.record:
        write_record(args.record, args.label, rows, broken, args.tests_ref, sys.argv[1:], args.only is not None)


if __name__ == "__main__":
    main()
