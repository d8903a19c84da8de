"""The warm-up on sparse images: the default recipe against other warm-ups, at equal CPU time.

Every arm trains ``tiny`` on 32 px grey stroke images (``benchmarks/strokes_family.py``, 6,000
training images of seed 0) with the gaia-stim recipe; ``fixed-500`` sets ``warmup_until`` to 0 (the
recipe before the warm-up criterion), ``default`` keeps the recipe's criterion, ``warmup-lr-2e-4``
warms up at the GAIA phase's learning rate, ``ae`` trains G alone as a plain autoencoder at 2e-4. Each trains in its
own run folder until it has used ``--cpu-minutes`` of CPU time (run them one after the other, or one
per core, with ``--threads 1``). ``evaluate`` measures, on 200 held-out stroke images (seed 1):

* ``error_ratio``: the exported model's mean absolute reconstruction error over that of the best
  constant image (the per-pixel median, all black here): 1 for a model that draws only the
  background;
* ``stroke_recall``: the fraction of stroke pixels (true value > 0.5) that the reconstruction draws
  above 0.5;

and writes a figure of held-out images and both arms' reconstructions.

    python benchmarks/sparse_recipe.py train default --runs runs/sparse --cpu-minutes 15 --threads 1
    python benchmarks/sparse_recipe.py train fixed-500 --runs runs/sparse --cpu-minutes 15 --threads 1
    python benchmarks/sparse_recipe.py evaluate --runs runs/sparse --json docs/records/sparse_recipe.json \\
        --figure docs/images/sparse_recipe.png
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
    "fixed-500": {"warmup_until": 0.0},
    # the warm-up at the GAIA phase's learning rate instead of the recipe's 1e-3: whether G leaves the
    # black background of sparse images sooner at a smaller step
    "warmup-lr-2e-4": {"warmup_lr": 2e-4},
    # a plain autoencoder (no D) at lr_max 2e-4: the ablation that is reported to draw strokes
    "ae": {"ablation": "ae", "warmup_steps": 0, "warmup_until": 0.0},
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


def evaluate(runs, n_images=200):
    import gaia_stim

    held_out = render_strokes(n_images, size=32, seed=1).astype(np.float32) / 255.0
    baseline = np.abs(held_out - np.median(held_out, axis=0, keepdims=True)).mean()
    rows, reconstructions = [], {}
    for arm in ARMS:
        path = os.path.join(runs, arm, "model.pt")
        if not os.path.exists(path):
            continue
        model = gaia_stim.load_model(path)
        drawn = model.decode(model.encode(held_out))
        strokes = held_out > 0.5
        training = model.training or {}
        rows.append({
            "arm": arm, "steps": training.get("steps"), "warmup_ended": training.get("warmup_ended"),
            "warmup_steps": training.get("warmup_steps"), "cpu_s": training.get("cpu_s"),
            "threads": training.get("threads"), "load_1m": training.get("load_1m"),
            "error_ratio": round(float(np.abs(drawn - held_out).mean() / baseline), 4),
            "stroke_recall": round(float((drawn[strokes] > 0.5).mean()), 4),
        })
        reconstructions[arm] = drawn
    return rows, held_out, reconstructions


def write_figure(path, held_out, reconstructions, n=8):
    from gaia_stim.io.sheets import contact_sheet

    tiles, labels = [], []
    for name, images in [("held out", held_out), *reconstructions.items()]:
        for index in range(n):
            tiles.append(np.round(np.repeat(images[index], 3, axis=-1) * 255).astype(np.uint8))
            labels.append(name if index == 0 else "")
    contact_sheet(np.stack(tiles), labels, n, "rows: held-out strokes, then each arm's reconstructions").save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    slow = commands.add_parser("train")
    slow.add_argument("arm", choices=sorted(ARMS))
    slow.add_argument("--runs", required=True)
    slow.add_argument("--cpu-minutes", type=float, default=15)
    slow.add_argument("--threads", type=int, default=1)
    quality = commands.add_parser("evaluate")
    quality.add_argument("--runs", required=True)
    quality.add_argument("--json", default=None)
    quality.add_argument("--figure", default=None)
    args = parser.parse_args(argv)
    if args.command == "train":
        return train(args.arm, args.runs, args.cpu_minutes, args.threads)
    rows, held_out, reconstructions = evaluate(args.runs)
    print(f"{'arm':<10} {'steps':>6} {'warm-up ended':>13} {'CPU-s':>7} {'error ratio':>11} {'stroke recall':>13}")
    for row in rows:
        print(f"{row['arm']:<10} {row['steps']:>6} {str(row['warmup_ended']):>13} {row['cpu_s']:7.0f}"
              f" {row['error_ratio']:11.3f} {row['stroke_recall']:13.3f}")
    print("error ratio: reconstruction error over the all-black image's (1 = draws only the background)")
    if args.json:
        write_record(args.json, rows, __file__)
    if args.figure:
        write_figure(args.figure, held_out, reconstructions)


if __name__ == "__main__":
    main()
