"""Equal spacing: how equal the steps of a continuum are, linear against equal spacing.

20 held-out face pairs (synthetic faces made with seed 12345, which the default model never
saw; faces 2k and 2k+1 make pair k), continua of 11 and 21 steps, each metric (pixel, SSIM,
NLPD): the coefficient of variation (SD / mean) of the distances between consecutive images,
median and maximum over the pairs, for linear spacing (equal steps in latent space) and for
equal spacing in that metric.

    python benchmarks/equal_spacing.py [--pairs 20] [--record docs/records/equal_spacing.json]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--record", default=None)
    args = parser.parse_args()

    import numpy as np

    import gaia_stim as gs
    from gaia_stim.datasets import make_faces
    from gaia_stim.metrics import coefficient_of_variation, step_distances
    from gaia_stim.stimuli import continuum

    model = gs.load_model("default")
    faces = make_faces(2 * args.pairs, size=model.image_size, seed=12345)["images"]
    rows = []
    for n_steps in (11, 21):
        linear = [continuum(model, faces[2 * k], faces[2 * k + 1], n_steps=n_steps) for k in range(args.pairs)]
        for metric in ("pixel", "ssim", "nlpd"):
            linear_cv = [coefficient_of_variation(step_distances(r["images"], metric)) for r in linear]
            equal_cv = []
            for k in range(args.pairs):
                result = continuum(model, faces[2 * k], faces[2 * k + 1], n_steps=n_steps, spacing="equal", metric=metric)
                equal_cv.append(coefficient_of_variation(step_distances(result["images"], metric)))
            rows.append({
                "n_steps": n_steps, "metric": metric,
                "linear_cv_median_pct": round(100 * float(np.median(linear_cv)), 2),
                "linear_cv_max_pct": round(100 * float(np.max(linear_cv)), 2),
                "equal_cv_median_pct": round(100 * float(np.median(equal_cv)), 2),
                "equal_cv_max_pct": round(100 * float(np.max(equal_cv)), 2),
            })
            print(rows[-1], flush=True)

    print(f"\n{args.pairs} held-out face pairs; CV of step distances, % (median / max over pairs)")
    print(f"{'steps':>5}  {'metric':<6}  {'linear':>15}  {'equal':>15}")
    for row in rows:
        print(f"{row['n_steps']:>5}  {row['metric']:<6}  {row['linear_cv_median_pct']:>6.2f} / {row['linear_cv_max_pct']:<6.2f}"
              f"  {row['equal_cv_median_pct']:>6.2f} / {row['equal_cv_max_pct']:<6.2f}")
    if args.record:
        from _records import write_record

        write_record(args.record, rows, __file__)


if __name__ == "__main__":
    main()
