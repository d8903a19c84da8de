"""Trials needed: the 95 % interval widths of an identification fit's pse and slope, by repetitions.

An 11-step continuum (levels 0, 0.1, ..., 1), a simulated observer with pse 0.5, lapse 0.02 and
slope 2 or 4 (dF/dx at the pse, per morph unit), every level shown REPS times and fitted as
``gaia-stim analyze`` fits it (maximum likelihood, lapse fitted). ``power.interval_widths`` gives
the width of the central 95 % of the estimates over many simulated experiments: the width an
exact 95 % interval has. Beside it, for slope 4, the median width of the parametric-bootstrap
intervals ``gaia-stim analyze`` reports from one experiment (200 bootstrap samples, over 20
experiments), to show the two agree.

    python benchmarks/trials_needed.py [--simulations 400] [--record docs/records/trials_needed.json]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

N_STEPS = 11
REPS = (5, 10, 20, 40, 80)
SLOPES = (2.0, 4.0)
PSE, LAPSE = 0.5, 0.02
TARGETS = ((0.1, None), (0.05, None), (None, 1.0), (0.1, 0.5))


def bootstrap_widths(reps, slope, n_experiments, seed):
    """Median width of analyze's bootstrap intervals (pse, slope) over simulated experiments."""
    from gaia_stim.analysis import power, psychometric

    rng = np.random.default_rng(seed)
    levels = np.repeat(power.continuum_levels(N_STEPS), reps)[:, None]
    widths = []
    for number in range(n_experiments):
        answers = power.simulate_identification(levels, PSE, slope, LAPSE, rng)
        estimate = psychometric.fit("identification", levels, answers)
        intervals = psychometric.bootstrap("identification", levels, answers, estimate, n_bootstrap=200, seed=number)
        widths.append((intervals["pse"][1] - intervals["pse"][0], intervals["slope"][1] - intervals["slope"][0]))
    return np.median(np.array(widths), axis=0)


def needed(rows, slope, pse_width, slope_relative_width):
    for row in rows:
        if row["slope"] != slope:
            continue
        if ((pse_width is None or row["pse_width"] <= pse_width)
                and (slope_relative_width is None or row["slope_relative_width"] <= slope_relative_width)):
            return row["reps"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--experiments", type=int, default=20, help="experiments for the bootstrap comparison")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--record", default=None)
    args = parser.parse_args()

    from gaia_stim.analysis import power

    started = time.perf_counter()
    rows = []
    for slope in SLOPES:
        for reps in REPS:
            row = power.interval_widths(N_STEPS, reps, PSE, slope, LAPSE, n_simulations=args.simulations, seed=args.seed)
            if slope == 4.0:
                pse_boot, slope_boot = bootstrap_widths(reps, slope, args.experiments, args.seed + reps)
                row.update(bootstrap_pse_width=float(pse_boot), bootstrap_slope_width=float(slope_boot),
                           bootstrap_experiments=args.experiments)
            rows.append({name: (round(value, 4) if isinstance(value, float) else value) for name, value in row.items()})
            print(json.dumps(rows[-1]), flush=True)
    examples = [
        {"slope": slope, "pse_width": p, "slope_relative_width": s, "reps": needed(rows, slope, p, s)}
        for slope in SLOPES for p, s in TARGETS
    ]

    print(f"\n{N_STEPS}-step continuum, pse {PSE}, lapse {LAPSE} (fitted); 95 % range of the estimates over"
          f" {args.simulations} simulated experiments; [median bootstrap interval width of analyze, {args.experiments}"
          f" experiments]")
    print(f"{'slope':>5} {'reps':>4} {'trials':>6} {'pse width':>10} {'[boot]':>7} {'slope width':>11} {'[boot]':>7}"
          f" {'slope width / slope':>20}")
    for r in rows:
        boot_pse = f"{r['bootstrap_pse_width']:.3f}" if "bootstrap_pse_width" in r else ""
        boot_slope = f"{r['bootstrap_slope_width']:.2f}" if "bootstrap_slope_width" in r else ""
        print(f"{r['slope']:>5.0f} {r['reps']:>4} {r['n_trials']:>6} {r['pse_width']:>10.3f} {boot_pse:>7}"
              f" {r['slope_width']:>11.2f} {boot_slope:>7} {r['slope_relative_width']:>20.2f}")
    print("\nfewest repetitions per level (of " + ", ".join(map(str, REPS)) + ") for a target")
    for e in examples:
        print(f"slope {e['slope']:.0f}: pse width <= {e['pse_width']}, slope width / slope <= {e['slope_relative_width']}:"
              f" {e['reps']}")
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.record:
        from categorical_perception import write_record

        write_record(args.record, {"widths": rows, "targets": examples}, __file__)


if __name__ == "__main__":
    main()
