"""Candidate 64 px networks compared by the quality they reach per CPU-hour.

Each candidate is the ``small`` preset with some of its sizes changed (width, depth, kernel sizes,
where the linear bottleneck sits, D's capacity; :data:`CANDIDATES`). Three sub-commands:

``speed``
    Parameters of G and D, forward FLOPs per image (G's encode and decode; D's pass), and training
    images/s of a warm-up (plain autoencoder) step and of a GAIA step at batch 16, medians of
    ``--repeats`` steps, every candidate in one process and in interleaved rounds so the machine's
    load affects them alike.
``train NAME``
    Trains candidate NAME on ``--data`` (the default model's faces) with the gaia-stim recipe in
    ``--runs/NAME`` until the run has used ``--cpu-minutes`` of CPU time, keeping a copy of the model
    at each budget reached (``snapshots/cpuNNN.pt``). Run again with a larger budget to continue the
    same run (it resumes exactly). Use ``--threads 1`` and train one candidate per core at most.
``evaluate``
    For every snapshot under ``--runs``: reconstruction SSIM on 200 held-out faces (seed 12345)
    and the feature ceiling (``benchmarks/feature_ceiling.py``): how many of the 16 face
    parameters keep at least 0.7 of a true +-0.25 change through encode -> decode, and the median.

    python benchmarks/network_candidates.py speed --threads 1
    python benchmarks/network_candidates.py train k3 --data runs/faces64 --runs runs/net --cpu-minutes 15 --threads 1
    python benchmarks/network_candidates.py evaluate --runs runs/net --json docs/records/network_candidates.json
"""

import argparse
import glob
import os
import shutil
import statistics
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _records import write_record  # noqa: E402

HELD_OUT_SEED = 12345


def candidates():
    """name -> (ModelConfig, what changes from ``small``)."""
    from gaia_stim.model.config import PRESETS

    small = PRESETS["small"]
    return {
        "small": (small, "the reference topology at width 16: kernels 7/4/5, bottleneck at 16x16x64"),
        "k3": (replace(small, outer_kernel=3, up_kernel=3),
               "3x3 first, last and upsampling convolutions instead of 7x7 and 5x5"),
        "down3": (replace(small, n_down=3, outer_kernel=3, up_kernel=3),
                  "k3, and a third downsampling stage: bottleneck and residual blocks at 8x8x128"),
        "down3-w24": (replace(small, width=24, n_down=3, outer_kernel=3, up_kernel=3),
                      "down3 at width 24: 8x8x192"),
        "k3-w24": (replace(small, width=24, outer_kernel=3, up_kernel=3), "k3 at width 24: 16x16x96"),
        "down3-d1": (replace(small, n_down=3, outer_kernel=3, up_kernel=3, discriminator_width_ratio=1.0),
                     "down3 with D at G's width (D's capacity doubled)"),
    }


def _threads(threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


# ------------------------------------------------------------------------------------------- speed


def forward_flops(module, *inputs):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops()


def _trainer(config, images, settings_changes, run_dir="unused"):
    from gaia_stim.model.recipes import recipe_settings
    from gaia_stim.model.trainer import Trainer

    settings = {"preset": "candidate", "config": config, "seed": 0, "ablation": "none",
                **recipe_settings("gaia-stim"), **settings_changes}
    return Trainer(run_dir, images, settings, device="cpu")


def measure_speed(names, threads, repeats, batch_size=16):
    """One row per candidate: sizes, FLOPs and training speed (medians over interleaved rounds)."""
    import torch

    from gaia_stim.datasets import make_faces
    from gaia_stim.model.networks import count_parameters

    used = _threads(threads)
    table = candidates()
    images = make_faces(4 * batch_size, size=64, seed=1)["images"]
    trainers, rows = {}, {}
    for name in names:
        config = table[name][0]
        warm = _trainer(config, images, {"batch_size": batch_size, "warmup_until": 0.0, "warmup_steps": 10**9})
        gaia = _trainer(config, images, {"batch_size": batch_size, "warmup_until": 0.0, "warmup_steps": 0})
        x = torch.rand(1, config.channels, 64, 64)
        rows[name] = {
            "candidate": name, "change": table[name][1],
            "g_parameters": count_parameters(gaia.generator), "d_parameters": count_parameters(gaia.discriminator),
            "g_gflop": forward_flops(gaia.generator, x) / 1e9, "d_gflop": forward_flops(gaia.discriminator, x) / 1e9,
            "threads": used, "batch_size": batch_size,
        }
        trainers[name] = (warm, gaia)
    times = {name: {"warm-up": [], "gaia": []} for name in names}
    for round_ in range(repeats + 1):  # the first round warms the allocator and is not counted
        for name in names:
            for kind, trainer in zip(("warm-up", "gaia"), trainers[name]):
                x = trainer.local_batch(round_ % 4)
                started = time.perf_counter()
                trainer.train_step(x)
                if round_:
                    times[name][kind].append(time.perf_counter() - started)
    for name in names:
        for kind in ("warm-up", "gaia"):
            rows[name][f"{kind}_images_per_s"] = batch_size / statistics.median(times[name][kind])
        rows[name]["load_1m"] = round(os.getloadavg()[0], 2)
    return [rows[name] for name in names]


def print_speed(rows):
    print(f"{'candidate':<10} {'G params':>9} {'D params':>9} {'G GFLOP':>8} {'D GFLOP':>8} "
          f"{'warm-up img/s':>13} {'GAIA img/s':>10} {'threads':>7}")
    for row in rows:
        print(f"{row['candidate']:<10} {row['g_parameters'] / 1e6:8.2f}M {row['d_parameters'] / 1e6:8.2f}M"
              f" {row['g_gflop']:8.3f} {row['d_gflop']:8.3f} {row['warm-up_images_per_s']:13.1f}"
              f" {row['gaia_images_per_s']:10.1f} {row['threads']:>7}")
    print("GFLOP: one image's forward pass (G: encode and decode; D: one pass); FLOPs = 2 x multiply-adds")


# ------------------------------------------------------------------------------------------- train


def train(name, data, runs, cpu_minutes, threads, recipe_changes):
    from gaia_stim.model.data import load_image_folder
    from gaia_stim.model.trainer import Trainer

    used = _threads(threads)
    config = candidates()[name][0]
    run_dir = os.path.join(runs, name)
    images, _ = load_image_folder(data, config.image_size, config.channels)
    if os.path.exists(os.path.join(run_dir, "checkpoint.pt")):
        trainer = Trainer.resume(run_dir, images, device="cpu")
    else:
        os.makedirs(run_dir, exist_ok=True)
        trainer = _trainer(config, images, {**recipe_changes, "data": os.path.abspath(data)}, run_dir)
    budgets = sorted(set(cpu_minutes))
    for budget in budgets:
        while trainer.cpu_s < budget * 60:
            # on one thread of an otherwise idle core, CPU time and wall-clock time advance alike
            remaining = budget * 60 - trainer.cpu_s
            trainer.train(10**9, max_time_s=max(remaining / max(used, 1), 1.0), log_every=20,
                          checkpoint_every=250, sample_every=1000, progress=False)
        snapshot = os.path.join(run_dir, "snapshots", f"cpu{budget:03d}.pt")
        if not os.path.exists(snapshot):
            os.makedirs(os.path.dirname(snapshot), exist_ok=True)
            shutil.copyfile(os.path.join(run_dir, "model.pt"), snapshot)
        print(f"{name}: {budget} CPU-minutes reached at step {trainer.step} ({trainer.cpu_s:.0f} CPU-s,"
              f" {trainer.elapsed_s:.0f} s, {used} threads, load {os.getloadavg()[0]:.2f})", flush=True)


# ------------------------------------------------------------------------------------------- evaluate


def evaluate(runs, n_recon, n_ceiling_faces):
    import gaia_stim
    from face_quality import reconstruction_quality
    from feature_ceiling import feature_ceiling

    rows = []
    for snapshot in sorted(glob.glob(os.path.join(runs, "*", "snapshots", "cpu*.pt"))):
        name = snapshot.split(os.sep)[-3]
        model = gaia_stim.load_model(snapshot)
        training = model.training or {}
        quality = reconstruction_quality(model, n_recon, HELD_OUT_SEED)
        ceiling = feature_ceiling(model, n_faces=n_ceiling_faces)
        gains = np.array([row["ceiling_gain"] for row in ceiling.values()])
        rows.append({
            "candidate": name, "cpu_minutes": int(os.path.basename(snapshot)[3:6]),
            "steps": training.get("steps"), "warmup_ended": training.get("warmup_ended"),
            "cpu_s": training.get("cpu_s"), "elapsed_s": training.get("elapsed_s"),
            "threads": training.get("threads"), "load_1m": training.get("load_1m"),
            "recon_ssim": round(quality["ssim_mean"], 4), "recon_mae": round(quality["mae_mean"], 4),
            "ceiling_at_least_0.7": int((gains >= 0.7).sum()), "ceiling_median": round(float(np.median(gains)), 3),
            "ceiling": {key: round(row["ceiling_gain"], 3) for key, row in ceiling.items()},
        })
        print(f"evaluated {snapshot}", file=sys.stderr, flush=True)
    return rows


def print_quality(rows):
    print(f"{'candidate':<10} {'CPU-min':>7} {'steps':>6} {'warm-up to':>10} {'recon SSIM':>10} {'MAE':>7}"
          f" {'ceil>=0.7':>9} {'ceil median':>11}")
    for row in rows:
        print(f"{row['candidate']:<10} {row['cpu_minutes']:>7} {row['steps']:>6} {str(row['warmup_ended']):>10}"
              f" {row['recon_ssim']:10.4f} {row['recon_mae']:7.4f} {row['ceiling_at_least_0.7']:>6}/16"
              f" {row['ceiling_median']:11.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fast = commands.add_parser("speed")
    fast.add_argument("--candidates", nargs="+", default=None)
    fast.add_argument("--threads", type=int, default=0)
    fast.add_argument("--repeats", type=int, default=5)
    fast.add_argument("--json", default=None)
    slow = commands.add_parser("train")
    slow.add_argument("name")
    slow.add_argument("--data", required=True)
    slow.add_argument("--runs", required=True)
    slow.add_argument("--cpu-minutes", type=int, nargs="+", default=[15])
    slow.add_argument("--threads", type=int, default=1)
    quality = commands.add_parser("evaluate")
    quality.add_argument("--runs", required=True)
    quality.add_argument("--n-recon", type=int, default=200)
    quality.add_argument("--ceiling-faces", type=int, default=6)
    quality.add_argument("--threads", type=int, default=1)
    quality.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    if args.command == "speed":
        names = args.candidates or list(candidates())
        unknown = sorted(set(names) - set(candidates()))
        if unknown:
            parser.error(f"unknown candidates {unknown}; choose from {list(candidates())}")
        rows = measure_speed(names, args.threads, args.repeats)
        print_speed(rows)
    elif args.command == "train":
        if args.name not in candidates():
            parser.error(f"unknown candidate {args.name!r}; choose from {list(candidates())}")
        train(args.name, args.data, args.runs, args.cpu_minutes, args.threads, {})
        return
    else:
        _threads(args.threads)
        rows = evaluate(args.runs, args.n_recon, args.ceiling_faces)
        print_quality(rows)
    if args.json:
        write_record(args.json, rows, __file__)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
