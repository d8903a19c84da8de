"""Interpolation quality of models against the true morph, with realism and trajectory measures.

For each model (``--model PATH=LABEL``, GAIA first, then its ablations) and for the pixel
cross-fade, on held-out images of a parametric family whose true morph is known:

* ``recon_ssim``: mean SSIM of the reconstructions of ``--n-recon`` held-out images;
* ``pixel_error``: mean absolute pixel error of the morph at the middle levels (0.3 to 0.7)
  against the true morph ``render((1 - t) p_a + t p_b)``;
* ``realism_pixel`` / ``realism_ssim`` (faces only): RMS pixel distance and 1 - SSIM of the
  middle frames to the nearest face of the family, found by the model-independent estimator
  :mod:`gaia_stim.datasets.face_estimator`; 0 for a real face, large for ghosts and blur;
* ``path_deviation`` (faces only): RMS over parameters of the estimated parameters of the middle
  frames minus the straight line between the endpoints' true parameters, in parameter units
  (fractions of each parameter's range): how far the morph strays from the ideal one;
* ``step_cv`` (faces only): coefficient of variation of the step sizes along the continuum,
  measured between the estimated parameter vectors of consecutive frames: how unequal equal
  latent steps are in face units.

Families: ``faces`` (:mod:`gaia_stim.datasets`, held-out seed 12345) and ``shapes``
(``benchmarks/shapes_family.py``, held-out seed 12345; the training sets use seed 0).

    python benchmarks/interpolation_quality.py --family faces --model runs/gaia=GAIA \\
        --model runs/ae=AE --json docs/records/x.json --figure docs/images/x.png
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _records import write_record  # noqa: E402
from face_quality import (  # noqa: E402
    crossfades,
    interpolate,
    middle_steps,
    model_morphs,
    morph_levels,
    parse_model_spec,
)

HELD_OUT_SEED = 12345
CROSSFADE = "cross-fade"
RUN_KEYS = ("preset", "recipe", "ablation", "steps", "elapsed_s", "batch_size", "warmup_steps", "recon_weight",
            "ema_decay", "lr_max")  # from the model file's training record


def family_renderer(family):
    """``(render(params, size), sample(n, rng))`` of a family."""
    if family == "faces":
        from gaia_stim.datasets import render, sample_parameters

        return render, sample_parameters
    from shapes_family import PARAMETERS, render

    return render, lambda n, rng: rng.beta(2.0, 2.0, size=(n, len(PARAMETERS)))


def ssim_each(images, reference):
    from skimage.metrics import structural_similarity

    return np.array([
        structural_similarity(x, y, channel_axis=-1, data_range=1.0) for x, y in zip(images, reference)
    ])


def trajectory(frames, params_a, params_b, levels):
    """(path deviation at the middle levels, step CV) of frames (N, T, S, S, 3) in face units."""
    from gaia_stim.datasets.face_estimator import estimate_parameters

    n_pairs, n_steps = frames.shape[:2]
    estimated = estimate_parameters(frames.reshape(n_pairs * n_steps, *frames.shape[2:]))
    estimated = estimated.reshape(n_pairs, n_steps, -1)
    line = interpolate(params_a, params_b, levels)
    middle = middle_steps(levels)
    deviation = np.sqrt(((estimated[:, middle] - line[:, middle]) ** 2).mean(axis=-1)).mean()
    steps = np.linalg.norm(np.diff(estimated, axis=1), axis=-1)  # (N, T-1)
    cv = (steps.std(axis=1) / np.maximum(steps.mean(axis=1), 1e-12)).mean()
    return float(deviation), float(cv), estimated


def measure(frames, truth, params_a, params_b, levels, family):
    """The middle-level measures of one method's frames (N, T, S, S, 3)."""
    middle = middle_steps(levels)
    inner = frames[:, middle].reshape(-1, *frames.shape[2:])
    row = {
        "pixel_error": float(np.abs(frames[:, middle] - truth[:, middle]).mean()),
        "ssim_vs_true_morph": float(ssim_each(inner, truth[:, middle].reshape(inner.shape)).mean()),
    }
    if family == "faces":
        from gaia_stim.datasets.face_estimator import realism

        measured = realism(inner)
        row["realism_pixel"] = float(measured["pixel"].mean())
        row["realism_ssim"] = float(measured["ssim"].mean())
        row["path_deviation"], row["step_cv"], _ = trajectory(frames, params_a, params_b, levels)
    return row


def evaluate(models, labels, family="faces", n_pairs=20, n_recon=200, n_steps=11, seed=HELD_OUT_SEED):
    """One row per model and one for the cross-fade, plus the frames of the first pairs."""
    render, sample = family_renderer(family)
    levels = morph_levels(n_steps)
    # the pairs of face_quality.held_out_pairs, drawn the same way for every family
    params = sample(2 * n_pairs, np.random.default_rng([seed, 1]))
    params_a, params_b = params[:n_pairs], params[n_pairs:]
    recon_params = sample(n_recon, np.random.default_rng([seed, 2]))
    sizes = {model.image_size for model in models}
    if len(sizes) != 1:
        raise SystemExit("give models of one image size")
    size = sizes.pop()
    flat = np.clip(interpolate(params_a, params_b, levels), 0.0, 1.0).reshape(n_pairs * n_steps, -1)
    truth = render(flat, size).reshape(n_pairs, n_steps, size, size, 3)
    rows, kept = [], {"true morph": truth[:3]}
    for model, label in zip(models, labels):
        morph, _ = model_morphs(model, truth, levels)
        targets = render(recon_params, size)
        reconstructions = model.decode(model.encode(targets))
        training = getattr(model, "training", {}) or {}
        row = {
            "method": label,
            **{key: training.get(key) for key in RUN_KEYS},
            "recon_ssim": float(ssim_each(reconstructions, targets).mean()),
        }
        row.update(measure(morph, truth, params_a, params_b, levels, family))
        rows.append(row)
        kept[label] = morph[:3]
    fade = crossfades(truth[:, 0], truth[:, -1], levels)
    rows.append({"method": CROSSFADE, "recon_ssim": 1.0, **measure(fade, truth, params_a, params_b, levels, family)})
    kept[CROSSFADE] = fade[:3]
    return rows, kept


def format_rows(rows):
    columns = [c for c in ("recon_ssim", "pixel_error", "ssim_vs_true_morph", "realism_pixel", "realism_ssim",
                           "path_deviation", "step_cv") if c in rows[0]]
    lines = [" ".join([f"{'method':<16}", *[f"{c:>18}" for c in columns]])]
    for row in rows:
        lines.append(" ".join([f"{row['method']:<16}", *[f"{row[c]:>18.4f}" for c in columns]]))
    return "\n".join(lines)


def write_figure(path, kept, n_pairs=2):
    """Rows: true morph, each model, cross-fade; for the first ``n_pairs`` pairs one block each."""
    from PIL import Image, ImageDraw

    from gaia_stim.core.tiles import tile_grid

    labels = list(kept)
    blocks = []
    for pair in range(n_pairs):
        grid = np.stack([kept[label][pair] for label in labels])  # (rows, T, S, S, C)
        if grid.shape[-1] == 1:
            grid = np.repeat(grid, 3, axis=-1)
        blocks.append(tile_grid(grid, min_tile=64))
    sheet = np.concatenate(blocks, axis=0)
    margin = 90
    canvas = Image.new("RGB", (sheet.shape[1] + margin, sheet.shape[0]), "white")
    canvas.paste(Image.fromarray(sheet), (margin, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = blocks[0].shape[0] / len(labels)
    for pair in range(n_pairs):
        for index, label in enumerate(labels):
            top = pair * blocks[0].shape[0] + index * row_height + row_height / 2 - 5
            draw.text((4, top), label, fill="black")
    canvas.save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="PATH=LABEL")
    parser.add_argument("--family", choices=["faces", "shapes"], default="faces")
    parser.add_argument("--n-pairs", type=int, default=20)
    parser.add_argument("--n-recon", type=int, default=200)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--figure", metavar="PATH")
    args = parser.parse_args(argv)

    import gaia_stim as gs

    specs = [parse_model_spec(spec) for spec in args.model]
    models = [gs.load_model(path) for path, _ in specs]
    labels = [label for _, label in specs]
    rows, kept = evaluate(models, labels, args.family, args.n_pairs, args.n_recon, seed=args.seed)
    print(f"{args.family}, {args.n_pairs} held-out pairs, middle levels 0.3-0.7, {args.n_recon} reconstructions")
    print(format_rows(rows))
    if args.json:
        write_record(args.json, rows, __file__)
    if args.figure:
        write_figure(args.figure, kept)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
