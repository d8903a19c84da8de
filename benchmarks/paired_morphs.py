"""Two models on the same held-out face pairs, pair by pair: is one's lead more than the pairs' noise?

The progress rows (``scripts/default_model_progress.py``) measure each model on 20 held-out pairs,
and the equal-CPU comparison of GAIA with its AE turns on differences of a few per cent there. This
measures two models (``--model PATH=LABEL`` twice, A first) on the same ``--n-pairs`` pairs (default
100, held-out seed 12345, drawn as ``face_quality.held_out_pairs`` draws them) and gives, for each
measure of the morph middles (levels 0.3 to 0.7, as ``benchmarks/interpolation_quality.py`` defines
them):

* the mean over pairs of each model's per-pair value;
* the ratio of the means, A / B, with a 95 % interval from a paired bootstrap over pairs (the same
  resampled pairs for both models, ``--boot`` resamples, seed ``--boot-seed``): an interval that
  lies wholly below 1 says A's lead holds beyond the choice of pairs;
* the share of pairs on which A is lower (lower is better for every measure here).

Measures: ``path_deviation`` (per pair: RMS over the 16 parameters of the estimated middle frames
minus the straight line between the endpoints' true parameters, averaged over the middle levels),
``endpoint_deviation`` (the same for the two ends, the model's reconstructions of the sources: the
part of the path's deviation that is reconstruction error, there before any interpolation),
``realism_pixel`` (RMS pixel distance of the middle frames to the nearest face) and
``pixel_error`` (against the true morph). The estimator is :mod:`gaia_stim.datasets.face_estimator`,
independent of both models. ``--figure PATH`` draws the first three pairs: the true morph, each
model's morph and the cross-fade, row under row (``face_quality.write_figure``).

    python benchmarks/paired_morphs.py --model GAIA.pt=GAIA --model AE.pt=AE --n-pairs 100 \\
        --json docs/records/x.json --figure docs/images/x.png
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _records import write_record  # noqa: E402
from face_quality import (  # noqa: E402
    FIGURE_PAIRS,
    held_out_pairs,
    interpolate,
    load_models,
    middle_steps,
    model_morphs,
    morph_levels,
    write_figure,
)

HELD_OUT_SEED = 12345
MEASURES = ("path_deviation", "endpoint_deviation", "realism_pixel", "pixel_error")
N_STEPS = 11  # morph levels 0, 0.1, ..., 1; the middle is 0.3-0.7


def per_pair_measures(model, params_a, params_b, n_steps=N_STEPS, keep_pairs=0):
    """Each measure of ``model``'s morph middles, one value per pair: dict of ndarray (n_pairs,).

    With ``keep_pairs``, the key ``"morphs"`` also holds the whole morphs (every level) of the first
    ``keep_pairs`` pairs: ndarray (keep_pairs, n_steps, S, S, C).
    """
    from gaia_stim.datasets import render
    from gaia_stim.datasets.face_estimator import estimate_parameters, realism

    levels = morph_levels(n_steps)
    middle = middle_steps(levels)
    n_pairs, size = len(params_a), model.image_size
    line = interpolate(params_a, params_b, levels)
    truth = render(np.clip(line, 0.0, 1.0).reshape(n_pairs * n_steps, -1), size)
    truth = truth.reshape(n_pairs, n_steps, size, size, 3)
    morph, _ = model_morphs(model, truth, levels)
    inner = morph[:, middle]
    n_middle = inner.shape[1]
    frames = inner.reshape(-1, size, size, 3)
    estimated = estimate_parameters(frames).reshape(n_pairs, n_middle, -1)
    ends = estimate_parameters(morph[:, [0, -1]].reshape(-1, size, size, 3)).reshape(n_pairs, 2, -1)
    measured = {
        "path_deviation": np.sqrt(((estimated - line[:, middle]) ** 2).mean(axis=-1)).mean(axis=1),
        "endpoint_deviation": np.sqrt(((ends - line[:, [0, -1]]) ** 2).mean(axis=-1)).mean(axis=1),
        "realism_pixel": realism(frames)["pixel"].reshape(n_pairs, n_middle).mean(axis=1),
        "pixel_error": np.abs(inner - truth[:, middle]).reshape(n_pairs, -1).mean(axis=1),
    }
    if keep_pairs:
        measured["morphs"] = morph[:keep_pairs]
    return measured


def paired_ratio(a, b, n_boot=10000, seed=0):
    """Ratio of means ``mean(a) / mean(b)`` of paired per-pair values, with a paired bootstrap 95 % interval.

    Parameters
    ----------
    a, b : array-like of shape (n,)
        One value per pair for each model, pair ``i`` of ``a`` measured on the same pair as ``b``'s.
    n_boot : int
        Bootstrap resamples: each draws ``n`` pairs with replacement and takes the ratio of the two
        models' means over the same drawn pairs.
    seed : int
        Seed of the resampling.

    Returns
    -------
    dict with ``a_mean``, ``b_mean``, ``ratio``, ``ratio_ci95`` ([low, high], the 2.5 and 97.5
    percentiles of the resampled ratios), ``a_lower_share`` (share of pairs with a < b) and ``n``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or len(a) < 2:
        raise ValueError(f"a and b must be paired 1-d arrays of 2 or more values; got shapes {a.shape} and {b.shape}")
    drawn = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    ratios = a[drawn].mean(axis=1) / b[drawn].mean(axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return {
        "a_mean": float(a.mean()), "b_mean": float(b.mean()), "ratio": float(a.mean() / b.mean()),
        "ratio_ci95": [float(low), float(high)], "a_lower_share": float((a < b).mean()), "n": int(len(a)),
    }


def compare(model_a, model_b, n_pairs=100, seed=HELD_OUT_SEED, n_boot=10000, boot_seed=0, figure=None,
            labels=("A", "B")):
    """One row per measure: both models' means, A / B with its 95 % interval, A's share of lower pairs.

    ``figure``: a PNG path; the morphs of the first pairs (true morph, A and B under ``labels``,
    cross-fade) are drawn there from the very images measured.
    """
    params_a, params_b = held_out_pairs(n_pairs, seed)
    keep = FIGURE_PAIRS if figure else 0
    measured_a = per_pair_measures(model_a, params_a, params_b, keep_pairs=keep)
    measured_b = per_pair_measures(model_b, params_a, params_b, keep_pairs=keep)
    if figure:
        kept = {labels[0]: measured_a["morphs"], labels[1]: measured_b["morphs"]}
        write_figure(figure, params_a, params_b, {"levels": morph_levels(N_STEPS), "kept": kept}, [model_a, model_b],
                     list(labels), n_pairs=keep)
    return [{"measure": name, **paired_ratio(measured_a[name], measured_b[name], n_boot, boot_seed)}
            for name in MEASURES]


def format_rows(rows, label_a, label_b):
    lines = [f"{'measure':<16} {label_a:>12} {label_b:>12} {'A / B':>7} {'95 % interval':>17} {'A lower on':>11}"]
    for row in rows:
        low, high = row["ratio_ci95"]
        lines.append(f"{row['measure']:<16} {row['a_mean']:>12.5f} {row['b_mean']:>12.5f} {row['ratio']:>7.3f} "
                     f"{f'{low:.3f} - {high:.3f}':>17} {row['a_lower_share']:>10.0%}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="PATH=LABEL", help="twice: A, then B")
    parser.add_argument("--n-pairs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="seed of the held-out pairs")
    parser.add_argument("--boot", type=int, default=10000, help="bootstrap resamples")
    parser.add_argument("--boot-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--figure", metavar="PATH", help=f"PNG of the morphs of the first {FIGURE_PAIRS} pairs")
    args = parser.parse_args(argv)
    if len(args.model) != 2:
        parser.error("give --model exactly twice: A, then B")
    if args.n_pairs < 2:
        parser.error("--n-pairs must be 2 or more")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    (model_a, model_b), (label_a, label_b) = load_models(args.model)
    rows = compare(model_a, model_b, args.n_pairs, args.seed, args.boot, args.boot_seed, figure=args.figure,
                   labels=(label_a, label_b))
    load = os.getloadavg()[0]
    print(f"{args.n_pairs} held-out pairs (seed {args.seed}), middle levels 0.3-0.7; A = {label_a}, B = {label_b}; "
          f"{torch.get_num_threads()} thread(s), load {load:.2f}")
    print(format_rows(rows, label_a, label_b))
    if args.json:
        for row in rows:
            row.update({"a": label_a, "b": label_b, "a_sha256": model_a.file_sha256, "b_sha256": model_b.file_sha256,
                        "a_steps": (model_a.training or {}).get("steps"), "b_steps": (model_b.training or {}).get("steps"),
                        "threads": torch.get_num_threads(), "load_1m": round(load, 2)})
        write_record(args.json, rows, __file__)
        print(f"wrote {args.json}")
    if args.figure:
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
