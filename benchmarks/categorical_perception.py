"""Categorical perception: is discrimination beyond the labelling prediction detected, and only then?

Simulated participants, each with their own identification function (pse ~ N(0.5, 0.05), slope
~ 4 exp(N(0, 0.2)), lapse 0.02), run an identification experiment (11-step continuum, 20 trials
per level, 220 trials) and one discrimination experiment (pairs 2 steps apart, trial lists from
``gaia_stim.designs.design_trials``, 288 trials). Arms per design:

- ``labelling``: the covert-labelling observer (the null hypothesis is true);
- ``bump d' 1.5`` and ``bump d' 3``: the same observer with a categorical-perception effect the
  labelling model lacks: when the labels do not decide, a continuous comparison with
  d'(m) = BUMP exp(-(m - pse)^2 / (2 0.1^2)) at the pair's mean level m
  (``power.simulate_discrimination``; same-different: its false-alarm rate 0.05).

For each participant ``discrimination.excess_analysis`` runs (no bootstrap); the table gives the
share of participants with p < 0.05 in each test (the false-positive rate in the labelling arm,
the detection rate in the bump arms) with its binomial standard error; the mean descriptive
excess (observed - predicted Pc, over pairs and weighted to the boundary); and a group analysis:
consecutive groups of 12 participants, one-sided t test of their boundary excess > 0
(``groups.group_mean``). In the labelling arm of each design the first 40 participants also get
the bootstrap intervals (100 samples): the share of pairs whose 95 % excess interval holds 0,
the true excess there, and the same for the mean excess.

    python benchmarks/categorical_perception.py [--participants 200] [--record docs/records/categorical_perception.json]
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

DESIGN_REPS = {"2afc": 16, "abx": 8, "same-different": 8}
SEPARATION = 2
N_STEPS = 11
ID_REPS = 20
BUMPS = (0.0, 1.5, 3.0)
BUMP_WIDTH = 0.1
GROUP_SIZE = 12
TESTS = ("overall", "boundary", "location", "omnibus")


def stimuli():
    return [{"image_file": f"s{i}.png", "step": i, "morph_level": i / (N_STEPS - 1)} for i in range(N_STEPS)]


def trial_levels(design, reps, rng):
    from gaia_stim.analysis.psychometric import DESIGN_COLUMNS
    from gaia_stim.designs import design_trials

    rows = design_trials(stimuli(), design, reps, rng, [SEPARATION])
    return np.array([[row[c] for c in DESIGN_COLUMNS[design][:-1]] for row in rows], dtype=np.float64)


def simulate_participant(design, bump, rng):
    """One participant's identification and discrimination trials and answers."""
    from gaia_stim.analysis import power

    pse = 0.5 + 0.05 * rng.standard_normal()
    slope = 4.0 * math.exp(0.2 * rng.standard_normal())
    lapse = 0.02
    id_levels = np.repeat(power.continuum_levels(N_STEPS), ID_REPS)
    id_answers = power.simulate_identification(id_levels, pse, slope, lapse, rng)
    levels = trial_levels(design, DESIGN_REPS[design], rng)
    answers = power.simulate_discrimination(design, levels, pse, slope, lapse, rng, bump_d_prime=bump,
                                            bump_width=BUMP_WIDTH)
    return id_levels, id_answers, levels, answers


def run_arm(design, bump, n_participants, seed, n_coverage=0, n_bootstrap=100):
    """p-values of every test and the summary excesses, one row per simulated participant.

    The first ``n_coverage`` participants also get bootstrap intervals: whether each pair's and
    the mean excess's interval holds 0.
    """
    from gaia_stim.analysis import discrimination

    rng = np.random.default_rng(seed)
    rows = []
    for number in range(n_participants):
        id_levels, id_answers, levels, answers = simulate_participant(design, bump, rng)
        bootstrap = n_bootstrap if number < n_coverage else 0
        result = discrimination.excess_analysis(design, levels, answers, id_levels, id_answers,
                                                n_bootstrap=bootstrap, seed=number)
        summary = result["summary"]
        row = {**{f"p_{test}": summary[f"p_{test}"] for test in TESTS},
               "mean_excess": summary["mean_excess"], "boundary_excess": summary["boundary_excess"]}
        if bootstrap:
            pairs = result["pairs"]
            row["pairs_covered"] = int(np.sum((pairs["excess_ci_low"] <= 0) & (pairs["excess_ci_high"] >= 0)))
            row["pairs"] = len(pairs)
            row["mean_covered"] = bool(summary["mean_excess_ci_low"] <= 0 <= summary["mean_excess_ci_high"])
        rows.append(row)
    return rows


def rate(values, alpha=0.05):
    values = np.asarray(values)
    p = float(np.mean(values < alpha))
    return p, math.sqrt(p * (1 - p) / len(values))


def group_rate(rows, column, alpha=0.05):
    """Share of consecutive groups of GROUP_SIZE whose one-sided t test of ``column`` > 0 has p < alpha."""
    from gaia_stim.analysis.groups import group_mean

    values = np.array([row[column] for row in rows])
    groups = [values[i:i + GROUP_SIZE] for i in range(0, len(values) - GROUP_SIZE + 1, GROUP_SIZE)]
    p = [group_mean(g)["p_greater"] for g in groups]
    return float(np.mean(np.array(p) < alpha)), len(groups)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200, help="simulated participants per arm")
    parser.add_argument("--coverage", type=int, default=40, help="labelling-arm participants given bootstrap intervals")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--designs", nargs="+", default=list(DESIGN_REPS))
    parser.add_argument("--record", default=None)
    args = parser.parse_args()

    results = []
    started = time.perf_counter()
    for number, design in enumerate(args.designs):
        for arm_number, bump in enumerate(BUMPS):
            arm_started = time.perf_counter()
            coverage = args.coverage if bump == 0 else 0
            rows = run_arm(design, bump, args.participants, args.seed + 10 * number + arm_number, n_coverage=coverage)
            result = {
                "design": design, "arm": "labelling" if bump == 0 else f"bump d' {bump:g}", "bump_d_prime": bump,
                "bump_width": BUMP_WIDTH, "participants": args.participants,
                "discrimination_trials": int(len(trial_levels(design, DESIGN_REPS[design], np.random.default_rng(0)))),
                "identification_trials": N_STEPS * ID_REPS,
                "mean_excess": round(float(np.mean([row["mean_excess"] for row in rows])), 4),
                "boundary_excess": round(float(np.mean([row["boundary_excess"] for row in rows])), 4),
            }
            for test in TESTS:
                p, se = rate([row[f"p_{test}"] for row in rows])
                result[f"rejected_{test}"], result[f"rejected_{test}_se"] = round(p, 4), round(se, 4)
            group, n_groups = group_rate(rows, "boundary_excess")
            result.update({"group_size": GROUP_SIZE, "groups": n_groups, "group_rejected_boundary_excess": group})
            if coverage:
                covered = [row for row in rows if "pairs" in row]
                result.update({
                    "coverage_participants": len(covered), "coverage_bootstrap": 100,
                    "pair_interval_holds_0": round(sum(r["pairs_covered"] for r in covered)
                                                   / sum(r["pairs"] for r in covered), 4),
                    "mean_interval_holds_0": round(float(np.mean([r["mean_covered"] for r in covered])), 4),
                })
            result["seconds"] = round(time.perf_counter() - arm_started, 1)
            results.append(result)
            print(json.dumps(result), flush=True)

    print(f"\n{args.participants} simulated participants per arm; share with p < 0.05 (binomial SE);"
          f" identification {N_STEPS * ID_REPS} trials; pairs {SEPARATION} steps apart; bump width {BUMP_WIDTH}")
    header = (f"{'design':<15} {'arm':<12} {'trials':>6} " + " ".join(f"{t:>14}" for t in TESTS)
              + f"  {'excess':>7} {'bnd exc':>7}  {'groups of ' + str(GROUP_SIZE):>14}")
    print(header)
    for r in results:
        cells = " ".join(f"{r[f'rejected_{t}']:>7.3f} ({r[f'rejected_{t}_se']:.3f})" for t in TESTS)
        print(f"{r['design']:<15} {r['arm']:<12} {r['discrimination_trials']:>6} {cells}  {r['mean_excess']:>7.3f}"
              f" {r['boundary_excess']:>7.3f}  {r['group_rejected_boundary_excess']:>7.2f} of {r['groups']:<3}")
    print("\nbootstrap intervals in the labelling arm (true excess 0): share of 95 % intervals holding 0")
    for r in results:
        if "pair_interval_holds_0" in r:
            print(f"{r['design']:<15} pairs {r['pair_interval_holds_0']:.3f}, mean excess {r['mean_interval_holds_0']:.3f}"
                  f" ({r['coverage_participants']} participants)")
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.record:
        write_record(args.record, results)


def write_record(path, rows, script=__file__):
    """The record (as benchmarks/_records.py writes it: command, date, machine, rows), written atomically."""
    import datetime
    import platform

    try:
        from gaia_stim.core.atomic import atomic_write
    except ImportError:  # before the move of the atomic writers into gaia_stim.core
        from gaia_stim.core.atomic import atomic_write

    record = {
        "command": "python benchmarks/" + " ".join([os.path.basename(script)] + sys.argv[1:]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}",
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "cpu_seconds": round(time.process_time(), 1),
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "rows": rows,
    }
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


if __name__ == "__main__":
    main()
