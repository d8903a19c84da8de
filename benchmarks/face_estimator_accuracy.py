"""Accuracy and speed of the face-parameter estimator on held-out rendered faces (a table).

    python benchmarks/face_estimator_accuracy.py [--n 200] [--sizes 32 64] [--json PATH]

Faces are drawn with ``sample_parameters(n, default_rng(777))``, a stream no model or fit uses.
Parameters lie in [0, 1], so an error in parameter units is a fraction of the parameter's range.
Reported per size: the median and 95th-percentile absolute error of each parameter, the share of
faces with every parameter within 0.02, the ridge first guess's mean error for comparison, and
the seconds per face (one process, threads as torch sets them).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import write_record  # noqa: E402

from gaia_stim.datasets import face_estimator  # noqa: E402
from gaia_stim.datasets import PARAMETERS, render, sample_parameters  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    truth = sample_parameters(args.n, np.random.default_rng(777))
    face_estimator.estimate_parameters(render(truth[:1], 32))  # fit the ridge guess outside the timing
    rows = []
    for size in args.sizes:
        images = render(truth, size)
        started = time.perf_counter()
        estimates = face_estimator.estimate_parameters(images)
        seconds = (time.perf_counter() - started) / args.n
        guess = face_estimator._first_guess(face_estimator._downsample(images, face_estimator.WORKING_SIZE))
        error = np.abs(estimates - truth)
        row = {
            "size": size, "n": args.n, "seconds_per_face": seconds,
            "faces_all_within_0.02": float((error.max(axis=1) <= 0.02).mean()),
            "ridge_guess_mean_error": float(np.abs(guess - truth).mean()),
            "median_error": dict(zip(PARAMETERS, np.median(error, axis=0).round(5).tolist())),
            "p95_error": dict(zip(PARAMETERS, np.percentile(error, 95, axis=0).round(5).tolist())),
        }
        rows.append(row)
        print(f"{size} px, {args.n} faces: {seconds:.3f} s/face; all parameters within 0.02 of the range on "
              f"{100 * row['faces_all_within_0.02']:.1f} % of faces; ridge guess alone: mean error "
              f"{row['ridge_guess_mean_error']:.3f}")
        print(f"  {'parameter':<16} {'median':>8} {'95th pct':>9}")
        for name in PARAMETERS:
            print(f"  {name:<16} {row['median_error'][name]:>8.4f} {row['p95_error'][name]:>9.4f}")
    if args.json:
        write_record(args.json, rows, __file__)


if __name__ == "__main__":
    main()
