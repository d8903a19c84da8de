"""The warm-up on sparse images: the default recipe, its own AE ablation and other warm-ups, at equal CPU time.

Every arm trains ``tiny`` on 32 px grey stroke images (``benchmarks/strokes_family.py``, 6,000
training images of seed 0) with the gaia-stim recipe, changed as :data:`ARMS` says: ``default`` is
the recipe (a warm-up that ends on a criterion, with a cross-entropy term on G's logits), ``ae``
its own AE ablation (the same warm-up, then G alone as a plain autoencoder at ``lr_max``);
``l1-warmup`` is the recipe before the cross-entropy term, ``fixed-500`` the recipe before the
criterion too, ``warmup-lr-2e-4`` the L1 warm-up at the GAIA phase's learning rate and
``ae-no-warmup`` a plain L1 autoencoder from the first step. Each trains in its own run folder until
it has used ``--cpu-minutes`` of CPU time (one after the other, ``--threads 1``). ``evaluate``
measures, on 200 held-out stroke images (seed 1):

* ``error_ratio``: the exported model's mean absolute reconstruction error over that of the best
  constant image (the per-pixel median, all black here): 1 for a model that draws only the
  background;
* ``stroke_recall``: the fraction of stroke pixels (true value > 0.5) that the reconstruction draws
  above 0.5;

and, on the decoded midpoints (t = 0.5) of 100 held-out pairs, whether they look like stroke
images rather than two faint pictures laid over each other:

* ``midpoint_nearest``: the mean absolute distance of each midpoint to its nearest neighbour among
  5,000 true stroke images (seed 2); the same for the pixel cross-fade of each pair is printed.
  It rewards faint or empty pictures (the true images themselves score worse than a half-blank
  midpoint), so read it only beside the next measure;
* ``midpoint_ink_sharp``: the share of the midpoint's ink (the sum of its pixel values) that lies in
  pixels above 0.5; true stroke images score about 0.7 (anti-aliased edges), the cross-fade of two
  of them about 0.1 (only where strokes of the two cross).

It writes a figure of held-out images, each arm's reconstructions and the midpoints of the first
pairs.

    python benchmarks/sparse_recipe.py train default --runs runs/sparse --cpu-minutes 12 --threads 1
    python benchmarks/sparse_recipe.py train ae --runs runs/sparse --cpu-minutes 12 --threads 1
    python benchmarks/sparse_recipe.py evaluate --runs runs/sparse --json docs/records/sparse_recipe.json \\
        --figure docs/images/sparse_recipe.png
    python benchmarks/sparse_recipe.py saturation --steps 1500 --json docs/records/sparse_saturation.json

``saturation`` shows why: G alone, trained as the warm-up trains it, with L1 alone and with the
cross-entropy term, reporting the median output logit of background and stroke pixels as it goes.

(``docs/records/sparse_recipe_l1_warmup.json`` holds the earlier arms, measured before the recipe had
the cross-entropy term: its ``default`` arm is today's ``l1-warmup`` and its ``ae`` today's
``ae-no-warmup``.)
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _records import write_record  # noqa: E402
from strokes_family import render_strokes  # noqa: E402

ARMS = {
    "default": {},
    # the recipe's own AE ablation: the same warm-up, then G alone at lr_max, no D
    "ae": {"ablation": "ae"},
    # the recipe before the cross-entropy term on G's logits: an L1-only warm-up
    "l1-warmup": {"warmup_bce": 0.0},
    # before the warm-up criterion too
    "fixed-500": {"warmup_until": 0.0, "warmup_bce": 0.0},
    # the L1 warm-up at the GAIA phase's learning rate instead of the recipe's 1e-3
    "warmup-lr-2e-4": {"warmup_lr": 2e-4, "warmup_bce": 0.0},
    # a plain L1 autoencoder (no D) at lr_max 2e-4 from the first step
    "ae-no-warmup": {"ablation": "ae", "warmup_steps": 0, "warmup_until": 0.0},
}


def train(arm, runs, cpu_minutes, threads, n_images=6000):
    from dataclasses import replace

    import torch

    from gaia_stim.model import preset_config
    from gaia_stim.model.recipes import recipe_settings
    from gaia_stim.model.trainer import Trainer

    torch.set_num_threads(threads)
    run_dir = os.path.join(runs, arm)
    images = render_strokes(n_images, size=32, seed=0)
    if os.path.exists(os.path.join(run_dir, "checkpoint.pt")):
        trainer = Trainer.resume(run_dir, images, device="cpu")
    else:
        given = dict(ARMS[arm])
        ablation = given.pop("ablation", "none")
        settings = {"preset": "tiny", "config": replace(preset_config("tiny"), channels=1), "seed": 0,
                    "ablation": ablation, **recipe_settings("gaia-stim", **given), "data": "strokes_family seed 0"}
        os.makedirs(run_dir, exist_ok=True)
        trainer = Trainer(run_dir, images, settings, device="cpu")
    while trainer.cpu_s < cpu_minutes * 60:
        trainer.train(10**9, max_time_s=max((cpu_minutes * 60 - trainer.cpu_s) / threads, 1.0), log_every=20,
                      checkpoint_every=250, sample_every=500, progress=False)
    print(f"{arm}: step {trainer.step}, warm-up ended at {trainer.warmup_ended}, {trainer.cpu_s:.0f} CPU-s,"
          f" {threads} threads, load {os.getloadavg()[0]:.2f}")


def saturation(steps, threads, every=250, n_images=6000, bce_weights=(0.0, 1.0)):
    """Why an L1 warm-up never draws a stroke: G alone, trained as the warm-up trains it (batch 16,
    lr 1e-3; the ``ae`` ablation's warm-up steps), with and without the cross-entropy term; every ``every``
    steps, G's error ratio and stroke recall on the held-out images and the median output logit
    of background and of stroke pixels. Rows, one per weight and report."""
    from dataclasses import replace

    import torch

    from gaia_stim.model import preset_config
    from gaia_stim.model.trainer import Trainer

    torch.set_num_threads(threads)
    images = render_strokes(n_images, size=32, seed=0)
    held_out = render_strokes(200, size=32, seed=1)
    rows = []
    for weight in bce_weights:
        # the ae ablation has no D; its warm-up steps are G's warm-up steps
        settings = {"preset": "tiny", "config": replace(preset_config("tiny"), channels=1), "seed": 0,
                    "ablation": "ae", "batch_size": 16, "lr_max": 2e-4, "alpha": 1e-4, "warmup_steps": steps,
                    "warmup_lr": 1e-3, "warmup_bce": weight}
        trainer = Trainer("unused", images, settings, device="cpu")
        x_held = trainer.to_tensor(held_out)
        strokes = x_held > 0.5
        baseline = (x_held - x_held.median(dim=0, keepdim=True).values).abs().mean().item()
        for step in range(1, steps + 1):
            assert trainer._in_warmup()
            trainer.train_step(trainer.to_tensor(images[trainer.batch_indices(step - 1)]))
            if step % every == 0:
                with torch.no_grad():
                    logits = trainer.generator.decode_logits(*trainer.generator.encode(x_held))
                drawn = torch.sigmoid(logits)
                rows.append({
                    "warmup_bce": weight, "step": step,
                    "error_ratio": round((drawn - x_held).abs().mean().item() / baseline, 4),
                    "stroke_recall": round((drawn[strokes] > 0.5).float().mean().item(), 4),
                    "background_logit": round(logits[~strokes].median().item(), 2),
                    "stroke_logit": round(logits[strokes].median().item(), 2),
                    "threads": threads, "load_1m": round(os.getloadavg()[0], 2),
                })
                row = rows[-1]
                print(f"bce {weight:<4} step {step:>5}: error ratio {row['error_ratio']:.3f},"
                      f" stroke recall {row['stroke_recall']:.3f}, median logit background"
                      f" {row['background_logit']:.1f}, strokes {row['stroke_logit']:.1f}", flush=True)
    return rows


def nearest_distance(images, reference, chunk=50):
    """Per image, the mean absolute distance to its nearest neighbour in ``reference``."""
    flat_reference = reference.reshape(len(reference), -1)
    distances = []
    for start in range(0, len(images), chunk):
        flat = images[start : start + chunk].reshape(-1, 1, flat_reference.shape[1])
        distances.append(np.abs(flat - flat_reference[None]).mean(axis=2).min(axis=1))
    return np.concatenate(distances)


def ink_sharp(images):
    """Per image, the share of its ink (the sum of its pixel values) in pixels above 0.5."""
    flat = images.reshape(len(images), -1)
    return (flat * (flat > 0.5)).sum(axis=1) / np.maximum(flat.sum(axis=1), 1e-9)


def midpoint_measures(midpoints, reference):
    return {
        "midpoint_nearest": round(float(nearest_distance(midpoints, reference).mean()), 4),
        "midpoint_ink_sharp": round(float(ink_sharp(midpoints).mean()), 4),
    }


def evaluate(runs, n_images=200, n_reference=5000):
    import gaia_stim

    held_out = render_strokes(n_images, size=32, seed=1).astype(np.float32) / 255.0
    reference = render_strokes(n_reference, size=32, seed=2).astype(np.float32) / 255.0
    baseline = np.abs(held_out - np.median(held_out, axis=0, keepdims=True)).mean()
    cross_fade = (held_out[0::2] + held_out[1::2]) / 2
    rows, pictures = [], {}
    for arm in ARMS:
        path = os.path.join(runs, arm, "model.pt")
        if not os.path.exists(path):
            continue
        model = gaia_stim.load_model(path)
        codes = model.encode(held_out)
        drawn = model.decode(codes)
        midpoints = model.decode((codes[0::2] + codes[1::2]) / 2)
        strokes = held_out > 0.5
        training = model.training or {}
        rows.append({
            "arm": arm, "steps": training.get("steps"), "warmup_ended": training.get("warmup_ended"),
            "warmup_steps": training.get("warmup_steps"), "warmup_bce": training.get("warmup_bce"),
            "cpu_s": training.get("cpu_s"), "threads": training.get("threads"), "load_1m": training.get("load_1m"),
            "error_ratio": round(float(np.abs(drawn - held_out).mean() / baseline), 4),
            "stroke_recall": round(float((drawn[strokes] > 0.5).mean()), 4),
            **midpoint_measures(midpoints, reference),
        })
        pictures[arm] = (drawn, midpoints)
    references = [
        {"arm": "cross-fade", **midpoint_measures(cross_fade, reference)},
        {"arm": "true images", **midpoint_measures(held_out[0::2], reference)},
    ]
    return rows, references, held_out, cross_fade, pictures


def write_figure(path, held_out, cross_fade, pictures, n=8):
    from gaia_stim.io.sheets import contact_sheet

    tiles, labels = [], []

    def row(name, images):
        for index in range(n):
            tiles.append(np.round(np.repeat(images[index], 3, axis=-1) * 255).astype(np.uint8))
            labels.append(name if index == 0 else "")

    row("held out", held_out)
    for name, (drawn, _) in pictures.items():
        row(name, drawn)
    row("pair firsts", held_out[0::2])
    row("pair seconds", held_out[1::2])
    row("cross-fade", cross_fade)
    for name, (_, midpoints) in pictures.items():
        row(f"{name} mid", midpoints)
    title = "held-out strokes, each arm's reconstructions; then pairs, their cross-fade and each arm's midpoint"
    contact_sheet(np.stack(tiles), labels, n, title).save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    slow = commands.add_parser("train")
    slow.add_argument("arm", choices=sorted(ARMS))
    slow.add_argument("--runs", required=True)
    slow.add_argument("--cpu-minutes", type=float, default=15)
    slow.add_argument("--threads", type=int, default=1)
    saturating = commands.add_parser("saturation")
    saturating.add_argument("--steps", type=int, default=1500)
    saturating.add_argument("--threads", type=int, default=1)
    saturating.add_argument("--json", default=None)
    quality = commands.add_parser("evaluate")
    quality.add_argument("--runs", required=True)
    quality.add_argument("--json", default=None)
    quality.add_argument("--figure", default=None)
    args = parser.parse_args(argv)
    if args.command == "train":
        return train(args.arm, args.runs, args.cpu_minutes, args.threads)
    if args.command == "saturation":
        rows = saturation(args.steps, args.threads)
        if args.json:
            write_record(args.json, rows, __file__)
        return None
    rows, references, held_out, cross_fade, pictures = evaluate(args.runs)
    print(f"{'arm':<14} {'steps':>6} {'warm-up ended':>13} {'CPU-s':>7} {'error ratio':>11} {'stroke recall':>13}"
          f" {'mid nearest':>11} {'mid ink sharp':>13}")
    for row in rows:
        print(f"{row['arm']:<14} {row['steps']:>6} {str(row['warmup_ended']):>13} {row['cpu_s']:7.0f}"
              f" {row['error_ratio']:11.3f} {row['stroke_recall']:13.3f} {row['midpoint_nearest']:11.4f}"
              f" {row['midpoint_ink_sharp']:13.3f}")
    for row in references:
        print(f"{row['arm']:<14} {'':>6} {'':>13} {'':>7} {'':>11} {'':>13} {row['midpoint_nearest']:11.4f}"
              f" {row['midpoint_ink_sharp']:13.3f}")
    print("error ratio: reconstruction error over the all-black image's (1 = draws only the background);"
          " mid: decoded midpoints of 100 held-out pairs (the true-images row: first images of the pairs)")
    if args.json:
        write_record(args.json, rows + references, __file__)
    if args.figure:
        write_figure(args.figure, held_out, cross_fade, pictures)


if __name__ == "__main__":
    main()
