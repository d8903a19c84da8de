"""Perceptual re-spacing: how equal the re-spaced continuum's steps are for the observer, against the pilot's size.

A simulated observer (the one of tests/test_perceptual_spacing.py and benchmarks/mlds_recovery.py:
a logistic scale of width 0.1 with its boundary off-centre at 0.35, 0 at level 0 and 1 at level 1,
decision noise sigma = 0.15 of that scale) answers an MLDS pilot on a linear 11-step continuum
(levels 0, 0.1, ..., 1): each simulated participant answers ``blocks`` blocks of every triad (or
quadruple) in the order gaia-stim's trial lists give (``mlds_trials``), the answers drawn by
``simulate_responses``. The pilot is fitted as ``gaia-stim scale`` fits it (``fit`` per
participant, the group mean of their standard scales by ``group_scale``, or the one participant's
scale in a pilot of one), and an 11-step continuum is re-spaced on that scale as ``continuum
--spacing perceptual`` re-spaces it (``monotone_scale``, then ``perceptual_levels`` over the scale's
whole measured range). Reported: the coefficient of variation (population SD / mean) of the 10
steps of the re-spaced continuum on the observer's TRUE scale, over ``--pilots`` simulated pilots
per pilot size (median, 10th and 90th percentiles, the worst, how many above 5 %), beside the
linear continuum's CV on the same scale and the floor (the true scale itself, known without noise
at the 11 levels, re-spaced the same way: what interpolation between the levels alone costs).

A participant whose answers a scale predicts perfectly (separation) is refused by ``gaia-stim
scale``; here, as an experimenter would, another participant is run in their place, and the
refusals are counted. One pilot per run also goes through the command's own path
(``analyze_scale`` writing a scale folder, ``read_scale`` reading its group mean back) and must give
the same levels to the last bit, so that the table measures the code ``continuum --spacing
perceptual`` runs.

Every number comes from ``numpy.random.default_rng([seed, composition, size, pilot])``: the same
``--seed`` gives the same table. Run it on one thread:

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/perceptual_respacing.py [--pilots 100] [--seed 0]
        [--quick] [--record docs/records/perceptual_respacing.json]
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings

N_LEVELS = 11
N_STEPS = 11  # the re-spaced continuum, as in tests/test_perceptual_spacing.py
SIGMA = 0.15
LIMIT = 0.05  # the CV tests/test_perceptual_spacing.py requires
PERCENTILES = (10, 90)
# (label, design, blocks per participant, participants per pilot size): pilots of about 1k, 2k, 5k,
# 10k and 20k trials (and 40k, to see where nearly every pilot is within 5 %), made of many short
# sessions or of fewer long ones
COMPOSITIONS = [
    ("triads, participants x 2 blocks", "mlds-triads", 2, (3, 6, 15, 30, 60, 120)),
    ("triads, participants x 6 blocks", "mlds-triads", 6, (1, 2, 5, 10, 20)),
    ("quadruples, participants x 1 block", "mlds-quadruples", 1, (3, 6, 15, 30, 60)),
]
QUICK_COMPOSITIONS = [("triads, participants x 2 blocks", "mlds-triads", 2, (3, 15, 60))]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def true_scale(level):
    """The observer's scale: a logistic of width 0.1 with its boundary at 0.35, 0 at level 0 and 1 at 1."""
    import numpy as np

    raw = lambda x: 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - 0.35) / 0.1))  # noqa: E731
    return (raw(level) - raw(0.0)) / (raw(1.0) - raw(0.0))


def true_step_cv(levels):
    """CV (population SD / mean) of the steps between ``levels`` on the true scale."""
    import numpy as np

    from gaia_stim.metrics import coefficient_of_variation

    return coefficient_of_variation(np.diff(true_scale(levels)))


def pilot_levels():
    import numpy as np

    return np.linspace(0.0, 1.0, N_LEVELS)


def stimuli():
    """The pilot continuum as ``mlds_trials`` takes it."""
    return [{"image_file": f"images/s{step:02d}.png", "step": step, "morph_level": float(level)}
            for step, level in enumerate(pilot_levels())]


def respace(scale_levels, scale_values):
    """The re-spaced continuum's levels: what ``continuum --spacing perceptual`` does with a scale."""
    from gaia_stim.stimuli.continua import monotone_scale, perceptual_levels

    used, mended = monotone_scale(scale_values)
    levels, _ = perceptual_levels(scale_levels, used, float(scale_levels[0]), float(scale_levels[-1]), N_STEPS)
    return levels, mended


def participant_data(design, blocks, rng):
    """One simulated participant: (morph levels in presentation order, answers, trial rows)."""
    import numpy as np

    from gaia_stim.analysis.mlds_model import simulate_responses
    from gaia_stim.designs.mlds_trials import TUPLE_SIZE, mlds_trials

    rows = mlds_trials(stimuli(), design, blocks, rng)
    levels = np.array([[row[f"morph_{k}"] for k in range(1, TUPLE_SIZE[design] + 1)] for row in rows])
    return levels, simulate_responses(levels, true_scale, SIGMA, rng), rows


def pilot_scale(design, blocks, participants, rng, keep_rows=False):
    """The scale ``gaia-stim scale`` reports for one simulated pilot: ``(levels, scale, refused, rows)``."""
    from gaia_stim.analysis.mlds_data import index_trials
    from gaia_stim.analysis.mlds_model import fit, group_scale
    from gaia_stim.core.errors import DataError

    scales, sigmas, refused, rows = [], [], 0, []
    while len(scales) < participants:
        levels, answers, trial_rows = participant_data(design, blocks, rng)
        trials, stimulus_levels = index_trials(levels)
        try:
            estimate = fit(trials, answers, n_stimuli=len(stimulus_levels))
        except DataError:  # separation: the command refuses this participant; run another one
            refused += 1
            continue
        scales.append(estimate["scale"])
        sigmas.append(estimate["sigma"])
        if keep_rows:
            participant = f"P{len(scales):02d}"
            rows += [{"participant": participant, **row, "chose_second_pair": int(answer)}
                     for row, answer in zip(trial_rows, answers)]
    scale = scales[0] if participants == 1 else group_scale(scales, sigmas)["scale"]
    return stimulus_levels, scale, refused, rows


def percentile(values, q):
    import numpy as np

    return float(np.percentile(values, q))


def measure(label, design, blocks, participants, pilots, seed, composition, size):
    """One row of the table: ``pilots`` simulated pilots of one size."""
    import numpy as np

    start = time.process_time()
    cvs, refused, mended = [], 0, 0
    for pilot in range(pilots):
        rng = np.random.default_rng([seed, composition, size, pilot])
        levels, scale, refusals, _ = pilot_scale(design, blocks, participants, rng)
        respaced, was_mended = respace(levels, scale)
        cvs.append(true_step_cv(respaced))
        refused += refusals
        mended += was_mended
    from gaia_stim.designs.mlds_trials import TUPLE_SIZE

    trials_per_participant = blocks * math.comb(N_LEVELS, TUPLE_SIZE[design])
    return {
        "pilot": label, "design": design, "blocks_per_participant": blocks, "participants": participants,
        "n_trials": participants * trials_per_participant, "pilots": pilots,
        "cv_median": round(float(np.median(cvs)), 5),
        f"cv_p{PERCENTILES[0]}": round(percentile(cvs, PERCENTILES[0]), 5),
        f"cv_p{PERCENTILES[1]}": round(percentile(cvs, PERCENTILES[1]), 5),
        "cv_max": round(float(np.max(cvs)), 5),
        "pilots_above_limit": int(np.sum(np.array(cvs) > LIMIT)),
        "participants_refused": refused, "scales_made_monotone": mended,
        "cv_all": [round(float(value), 5) for value in cvs],
        "cpu_seconds": round(time.process_time() - start, 2),
    }


def command_path_check(seed):
    """One pilot through ``analyze_scale`` and ``read_scale``: the levels must be the benchmark's, bit for bit."""
    import csv

    import numpy as np

    from gaia_stim.analysis.mlds_report import analyze_scale, read_scale

    label, design, blocks, sizes = COMPOSITIONS[0]
    participants = sizes[0]
    rng = np.random.default_rng([seed, 99, 0, 0])
    levels, scale, _, rows = pilot_scale(design, blocks, participants, rng, keep_rows=True)
    expected, _ = respace(levels, scale)
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "pilot.csv")
        with open(data, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the intervals (10 bootstrap samples) are not used here
            analyze_scale([data], os.path.join(folder, "scale"), n_bootstrap=10, seed=seed, plot=False)
        found = read_scale(os.path.join(folder, "scale"))
        through_command, _ = respace(found["levels"], found["scale"])
    same = bool(np.array_equal(expected, through_command)) and found["fit"] == "group mean"
    if not same:
        raise SystemExit(f"the benchmark's scale path differs from gaia-stim scale's: {expected} against"
                         f" {through_command} ({found['fit']})")
    return {"pilot": label, "participants": participants, "fit_read_back": found["fit"], "identical_levels": same,
            "levels": [float(v) for v in expected]}


def versions():
    import numpy
    import scipy

    from gaia_stim._version import __version__

    return {"python": platform.python_version(), "gaia_stim": __version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__}


def threads():
    found = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    try:
        from threadpoolctl import threadpool_info

        found["threadpools"] = [{"library": pool.get("internal_api"), "num_threads": pool.get("num_threads")}
                                for pool in threadpool_info()]
    except ImportError:
        found["threadpools"] = None
    return found


def write_record(path, record):
    """The record as JSON, written whole or not at all."""
    from gaia_stim.core.atomic import atomic_write

    text = json.dumps(record, indent=2) + "\n"
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=100, help="simulated pilots per pilot size (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="5 pilots per size, triads x 2 blocks at about 1k, 5k and 20k trials only")
    parser.add_argument("--record", default=None, help="write the table and its provenance here as JSON")
    args = parser.parse_args()
    if args.pilots < 2:
        parser.error(f"--pilots must be at least 2; got {args.pilots}")

    import numpy as np

    started, wall = time.process_time(), time.perf_counter()
    load_before = os.getloadavg()
    compositions, pilots = (QUICK_COMPOSITIONS, 5) if args.quick else (COMPOSITIONS, args.pilots)
    linear_cv = true_step_cv(pilot_levels())
    floor_levels, _ = respace(pilot_levels(), true_scale(pilot_levels()))
    floor_cv = true_step_cv(floor_levels)
    check = command_path_check(args.seed)

    rows = []
    low, high = PERCENTILES
    print(f"CV of the steps of an {N_STEPS}-step continuum on the observer's true scale; {pilots} simulated pilots"
          f" per row, sigma {SIGMA}, seed {args.seed}")
    print(f"linear continuum: {100 * linear_cv:.1f} %; re-spaced on the true scale at the {N_LEVELS} levels"
          f" (the floor): {100 * floor_cv:.2f} %")
    print(f"{'pilot':<36}{'people':>7}{'trials':>8}{'median':>8}{f'p{low}':>7}{f'p{high}':>7}{'worst':>7}"
          f"{'>5 %':>6}{'refused':>8}{'cpu s':>7}")
    for composition, (label, design, blocks, sizes) in enumerate(compositions):
        for size, participants in enumerate(sizes):
            row = measure(label, design, blocks, participants, pilots, args.seed, composition, size)
            rows.append(row)
            print(f"{label:<36}{participants:>7}{row['n_trials']:>8}{100 * row['cv_median']:>7.1f}%"
                  f"{100 * row[f'cv_p{low}']:>6.1f}%{100 * row[f'cv_p{high}']:>6.1f}%{100 * row['cv_max']:>6.1f}%"
                  f"{row['pilots_above_limit']:>6}{row['participants_refused']:>8}{row['cpu_seconds']:>7.1f}",
                  flush=True)
    cpu = time.process_time() - started
    print(f"{cpu:.0f} CPU seconds ({time.perf_counter() - wall:.0f} s wall); the command's own path"
          f" (analyze_scale, read_scale) gave the same levels: {check['identical_levels']}")
    if args.record:
        write_record(args.record, {
            "command": "python benchmarks/" + " ".join([os.path.basename(__file__)] + sys.argv[1:]),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,"
                       f" {platform.platform(terse=True)}",
            "versions": versions(),
            "threads": threads(),
            "nice": os.nice(0),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "cpu_seconds": round(cpu, 1),
            "wall_seconds": round(time.perf_counter() - wall, 1),
            "seed": args.seed,
            "rng": "numpy.random.default_rng([seed, composition, size, pilot]); the check: [seed, 99, 0, 0]",
            "quick": args.quick,
            "observer": {"scale": "logistic, width 0.1, boundary 0.35, normalised to 0 at level 0 and 1 at level 1",
                         "sigma": SIGMA, "answers": "gaia_stim.analysis.mlds_model.simulate_responses"},
            "pilot_levels": [float(v) for v in pilot_levels()],
            "respaced_steps": N_STEPS,
            "cv": "population SD / mean of the steps between consecutive levels on the true scale",
            "limit": LIMIT,
            "linear_cv": round(linear_cv, 5),
            "floor_cv": round(floor_cv, 5),
            "floor_levels": [float(v) for v in floor_levels],
            "command_path_check": check,
            "rows": rows,
        })
        print(f"wrote {args.record}")


if __name__ == "__main__":
    main()
