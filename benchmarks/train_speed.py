"""Training speed and peak memory of the presets on this machine (a table, not a test).

    python benchmarks/train_speed.py [--presets tiny small] [--batch-sizes 16 32] [--steps 8] [--threads N]

Each configuration runs in a fresh subprocess (so peak memory is its own): a few warm-up steps,
then ``--steps`` timed training steps of the full GAIA objective on random images. Reported:
median images/s over the timed steps, peak resident memory (ru_maxrss) of that process, and a
float32 matmul's GFLOP/s measured in the same process as a yardstick of how busy the machine was.
"""

import argparse
import json
import resource
import subprocess
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import write_record  # noqa: E402


def measure(preset, batch_size, steps, threads, ablation):
    import numpy as np
    import torch

    from gaia_stim.model import Trainer, preset_config

    if threads:
        torch.set_num_threads(threads)
    config = preset_config(preset)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (max(4 * batch_size, 64), config.image_size, config.image_size, 3), dtype=np.uint8)
    trainer = Trainer("unused", images, {
        "preset": preset, "config": config, "batch_size": batch_size, "seed": 0,
        "ablation": ablation, "lr_max": 1e-4, "alpha": 5e-5,
    })
    durations = []
    for step in range(steps + 2):
        x = trainer.to_tensor(images[trainer.batch_indices(step)])
        started = time.perf_counter()
        trainer.train_step(x)
        if step >= 2:
            durations.append(time.perf_counter() - started)
    a = torch.randn(1024, 1024)
    matmul = []
    for _ in range(5):
        started = time.perf_counter()
        a @ a
        matmul.append(time.perf_counter() - started)
    return {
        "preset": preset,
        "batch_size": batch_size,
        "ablation": ablation,
        "threads": torch.get_num_threads(),
        "images_per_s": batch_size / float(np.median(durations)),
        "step_s": float(np.median(durations)),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "matmul_gflops": 2 * 1024**3 / float(np.median(matmul)) / 1e9,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--ablation", default="none")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="Also write the rows, date, machine and command as JSON.")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        preset, batch = args.one.split(":")
        print(json.dumps(measure(preset, int(batch), args.steps, args.threads, args.ablation)))
        return
    rows = []
    print(f"{'preset':>7} {'batch':>5} {'threads':>7} {'images/s':>9} {'step s':>7} {'peak MiB':>9} {'matmul GFLOP/s':>15}")
    for preset in args.presets:
        for batch in args.batch_sizes:
            command = [sys.executable, __file__, "--one", f"{preset}:{batch}", "--steps", str(args.steps),
                       "--threads", str(args.threads), "--ablation", args.ablation]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            rows.append(result)
            print(f"{preset:>7} {batch:>5} {result['threads']:>7} {result['images_per_s']:>9.1f} {result['step_s']:>7.3f}"
                  f" {result['peak_rss_mib']:>9.0f} {result['matmul_gflops']:>15.1f}")
    if args.json_path:
        write_record(args.json_path, rows, __file__)

if __name__ == "__main__":
    main()
