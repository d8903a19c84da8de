"""MLDS recovery: how well gaia-stim's MLDS fit recovers a known observer, and how many trials it needs.

Simulated participants judge "which pair differs more?" along an 11-step continuum (levels 0, 0.1,
..., 1). The observer's scale is a logistic with its boundary off-centre at 0.35 (width 0.1),
normalised to 0 at the first stimulus and 1 at the last; the decision noise is sigma = 0.15 (in
units of that scale) on the difference of the two pairs' differences. Each participant answers
every triad (or quadruple) once per block, in the trial order gaia-stim's trial lists give; the
answers come from the observer as a process (Gaussian noise, answer by its sign), not from the
library's formula. Each data set is fitted (probit GLM, as the R package MLDS) and bootstrapped
(parametric, ``--bootstrap`` samples, 95 % intervals). Reported per condition:

- refused: data sets without a maximum-likelihood scale (separation), which gaia-stim refuses;
- coverage: the fraction of participants whose interval holds the true scale value, the mean over
  the 9 free levels and the lowest level's;
- width: the mean interval width over the free levels (0 to 1 is the whole scale);
- RMSE: root mean squared error of the scale values over the free levels and participants;
- sigma: the median estimate (truth 0.15) and the coverage of its interval (basic bootstrap on
  log sigma, what gaia-stim reports) and, for comparison, of the percentile interval;
- runs p < 0.05: how often the goodness-of-fit test rejects the true model (about 5 % if exact);
- bootstrap samples that separate (kept where the fit stops, as in R) and left out, per participant;
- group: participants in groups of 10, the mean scale's t interval (gaia-stim's group fit):
  coverage and width.

With ``--r-data DIR`` (CSV exports of the R package's kk1, kk2, kk3 data sets, columns resp, S1..S4)
it also fits their 990 trials and prints the GLM scale beside the one the package's vignette prints.

    python benchmarks/mlds_recovery.py [--participants 200] [--bootstrap 100] [--record docs/records/mlds_recovery.json]
"""

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N_LEVELS = 11
SIGMA = 0.15
CONDITIONS = [  # (design, blocks)
    ("mlds-triads", 1),
    ("mlds-triads", 2),
    ("mlds-triads", 3),
    ("mlds-quadruples", 1),
]
GROUP_SIZE = 10
# The R package's vignette (MLDS 0.5.1, section 4.2): summary(mlds(SwapOrder(rbind(kk1, kk2, kk3))))
R_KK_SCALE = [0.0, -0.0454, 0.0439, -0.0863, 0.5682, 1.4234, 2.0695, 2.6661, 3.5527, 4.4297, 5.5739]
R_KK_LOGLIK = -306
R_KK_RUNS = 173  # binom.diagnostics(kk.mlds): ObsRuns


def true_scale(x):
    import numpy as np

    raw = lambda v: 1.0 / (1.0 + np.exp(-(np.asarray(v, dtype=np.float64) - 0.35) / 0.1))  # noqa: E731
    return (raw(x) - raw(0.0)) / (raw(1.0) - raw(0.0))


def observer_answers(levels, rng):
    import numpy as np

    psi = true_scale(levels)
    first = np.abs(psi[:, 1] - psi[:, 0])
    second = np.abs(psi[:, 2] - psi[:, 1]) if levels.shape[1] == 3 else np.abs(psi[:, 3] - psi[:, 2])
    return (second - first + SIGMA * rng.standard_normal(len(levels)) > 0).astype(np.int64)


def one_participant(design, blocks, seed, n_bootstrap):
    import numpy as np

    from gaia_stim.analysis import mlds_data, mlds_model
    from gaia_stim.core.errors import DataError
    from gaia_stim.designs.mlds_trials import mlds_trials

    stimuli = [{"image_file": f"s{i}.png", "step": i, "morph_level": i / 10} for i in range(N_LEVELS)]
    rng = np.random.default_rng(seed)
    rows = mlds_trials(stimuli, design, blocks, rng)
    size = 3 if design == "mlds-triads" else 4
    levels = np.array([[row[f"morph_{k}"] for k in range(1, size + 1)] for row in rows])
    answers = observer_answers(levels, rng)
    trials, _ = mlds_data.index_trials(levels)
    try:
        estimate = mlds_model.fit(trials, answers)
        result = mlds_model.bootstrap(trials, answers, estimate, n_bootstrap=n_bootstrap, seed=seed)
    except DataError:
        return None
    sigmas = result["samples"]["sigma"]
    return {
        "n_trials": len(rows),
        "scale": estimate["scale"],
        "interval": result["scale_interval"],
        "sigma": estimate["sigma"],
        "sigma_interval": result["sigma_interval"],
        "sigma_percentile": tuple(np.percentile(sigmas, [2.5, 97.5])),
        "runs_p": result["runs_p"],
        "left_out": result["n_left_out"],
        "separated": result["n_separated"],
    }


def summarise(design, blocks, fits, seconds, n_participants):
    import numpy as np

    from gaia_stim.analysis import mlds_model

    truth = true_scale(np.arange(N_LEVELS) / 10)[1:-1]
    done = [f for f in fits if f is not None]
    scale = np.array([f["scale"][1:-1] for f in done])
    low = np.array([f["interval"][1:-1, 0] for f in done])
    high = np.array([f["interval"][1:-1, 1] for f in done])
    covered = (low <= truth) & (truth <= high)
    sigma = np.array([f["sigma"] for f in done])
    sigma_covered = [f["sigma_interval"][0] <= SIGMA <= f["sigma_interval"][1] for f in done]
    percentile_covered = [f["sigma_percentile"][0] <= SIGMA <= f["sigma_percentile"][1] for f in done]
    row = {
        "design": design, "blocks": blocks, "n_trials": done[0]["n_trials"], "participants": n_participants,
        "refused": n_participants - len(done),
        "coverage_mean": round(float(covered.mean()), 3),
        "coverage_lowest_level": round(float(covered.mean(axis=0).min()), 3),
        "coverage_per_level": [round(float(v), 3) for v in covered.mean(axis=0)],
        "interval_width_mean": round(float((high - low).mean()), 4),
        "rmse": round(float(np.sqrt(((scale - truth) ** 2).mean())), 4),
        "sigma_median": round(float(np.median(sigma)), 4),
        "sigma_coverage": round(float(np.mean(sigma_covered)), 3),
        "sigma_percentile_coverage": round(float(np.mean(percentile_covered)), 3),
        "runs_p_below_0_05": round(float(np.mean([f["runs_p"] < 0.05 for f in done])), 3),
        "bootstrap_separated_mean": round(float(np.mean([f["separated"] for f in done])), 2),
        "bootstrap_left_out_mean": round(float(np.mean([f["left_out"] for f in done])), 2),
        "cpu_seconds_per_participant": round(seconds / n_participants, 3),
    }
    groups = [done[k:k + GROUP_SIZE] for k in range(0, len(done) - GROUP_SIZE + 1, GROUP_SIZE)]
    if groups:
        group_covered, group_width = [], []
        for members in groups:
            mean = mlds_model.group_scale([m["scale"] for m in members], [m["sigma"] for m in members])
            interval = mean["scale_interval"][1:-1]
            group_covered.append((interval[:, 0] <= truth) & (truth <= interval[:, 1]))
            group_width.append(interval[:, 1] - interval[:, 0])
        row["groups_of_10"] = len(groups)
        row["group_coverage_mean"] = round(float(np.mean(group_covered)), 3)
        row["group_interval_width_mean"] = round(float(np.mean(group_width)), 4)
    return row


def r_reference(folder):
    import numpy as np
    import pandas as pd

    from gaia_stim.analysis import mlds_data, mlds_model

    path = os.path.join(folder, "kk_all.csv")
    parts = [pd.read_csv(os.path.join(folder, f"{name}.csv")) for name in ("kk1", "kk2", "kk3")]
    pd.concat(parts).to_csv(path, index=False)
    (group,) = mlds_data.read_scale_data([path])["groups"].values()
    estimate = mlds_model.fit(group["trials"], group["responses"])
    runs = mlds_model.bootstrap(group["trials"], group["responses"], estimate, n_bootstrap=1000, seed=0)
    return {
        "data": "R package MLDS 0.5.1: kk1, kk2, kk3 (990 quadruple trials)",
        "glm_scale": [round(float(v), 4) for v in estimate["glm_scale"]],
        "r_vignette_glm_scale": R_KK_SCALE,
        "max_abs_difference": round(float(np.max(np.abs(estimate["glm_scale"] - R_KK_SCALE))), 5),
        "log_likelihood": round(estimate["log_likelihood"], 3), "r_vignette_log_likelihood": R_KK_LOGLIK,
        "sigma": round(estimate["sigma"], 4),
        "runs": runs["runs"], "r_runs": R_KK_RUNS, "runs_p_1000": runs["runs_p"], "r_runs_p_10000": 0.0159,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--r-data", default=None, help="Folder with kk1.csv, kk2.csv, kk3.csv exported from R.")
    parser.add_argument("--record", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # bootstrap samples left out are counted in the table

    rows = []
    for number, (design, blocks) in enumerate(CONDITIONS):
        start = time.process_time()
        fits = [one_participant(design, blocks, 1_000_000 * number + p, args.bootstrap)
                for p in range(args.participants)]
        rows.append(summarise(design, blocks, fits, time.process_time() - start, args.participants))
        print(rows[-1], flush=True)

    print(f"\n{args.participants} simulated participants per row; 11 levels, logistic scale (boundary 0.35),"
          f" sigma {SIGMA}; {args.bootstrap} bootstrap samples, 95 % intervals over the 9 free levels")
    print(f"{'design':<16}{'trials':>7}{'refused':>8}{'coverage':>10}{'lowest':>8}{'width':>8}{'RMSE':>8}"
          f"{'sigma':>8}{'s cov':>7}{'s pct':>7}{'runs<.05':>9}{'group cov':>10}{'group w':>9}{'cpu s':>8}")
    for row in rows:
        print(f"{row['design']:<16}{row['n_trials']:>7}{row['refused']:>8}{row['coverage_mean']:>10.3f}"
              f"{row['coverage_lowest_level']:>8.3f}{row['interval_width_mean']:>8.3f}{row['rmse']:>8.3f}"
              f"{row['sigma_median']:>8.3f}{row['sigma_coverage']:>7.2f}{row['sigma_percentile_coverage']:>7.2f}"
              f"{row['runs_p_below_0_05']:>9.3f}{row.get('group_coverage_mean', float('nan')):>10.3f}"
              f"{row.get('group_interval_width_mean', float('nan')):>9.3f}{row['cpu_seconds_per_participant']:>8.3f}")
    if args.r_data:
        reference = r_reference(args.r_data)
        rows.append({"r_reference": reference})
        print("\nR package MLDS, kk1-kk3 (990 quadruples):")
        print("  gaia-stim GLM scale:", reference["glm_scale"])
        print("  R vignette         :", reference["r_vignette_glm_scale"])
        print(f"  log-likelihood {reference['log_likelihood']} (R: {R_KK_LOGLIK}); runs {reference['runs']}"
              f" (R: {R_KK_RUNS}); sigma {reference['sigma']}")
    if args.record:
        from _records import write_record

        write_record(args.record, rows, __file__)


if __name__ == "__main__":
    main()
