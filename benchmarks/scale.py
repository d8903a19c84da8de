"""Training and generation at scale on this machine: one table (a benchmark, not a test).

    python benchmarks/scale.py [--presets tiny small] [--batch-sizes 16 32] [--variants plain channels-last bf16]
                               [--steps 6] [--threads N] [--data-images 100000] [--data-steps 60]
                               [--cache PATH] [--repeats 3] [--profile small:16] [--json PATH]

Rows, each measured in a fresh subprocess (so its peak memory is its own):

* ``train``: images/s per preset, batch size and speed switch (median of ``--steps`` full GAIA steps
  after 2 warm-up steps); training FLOP/s (one step counted with ``torch.utils.flop_counter``) as a
  fraction of the matmul FLOP/s measured in the same process (float32 1024^2 on a CPU, bfloat16
  8192^2 on a GPU); peak memory (resident set on a CPU, allocated GPU memory on a GPU).
* ``data``: ``small`` training on ``--data-images`` generated 64-px faces, from a cache
  (``gaia-stim prepare``'s format, read a batch at a time) and held in memory, alternating
  ``--data-rounds`` times: images/s, the share of step time spent fetching batches, peak resident
  memory; and both sources in one process, step by step (the same steps, so the ratio of their
  images/s does not depend on the machine's load changing between runs).
* ``cli``: cold ``gaia-stim continuum`` (11 steps) against ``python -c "import torch"`` beside it.
* ``api``: warm ``gaia_stim.continuum`` latency in one process with the default model, and that
  process's peak memory (generation).
* ``gpu``: ``paper`` at batch 8 and 32, fp32 and bf16, when a GPU is present.

``--profile PRESET:BATCH`` also prints the operators that take a training step's time (torch.profiler).
The machine is shared: compare rows of one run, and read the matmul column as its load.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import write_record  # noqa: E402

VARIANTS = {
    "plain": {"channels_last": False},
    "channels-last": {"channels_last": True},
    "bf16": {"precision": "bf16", "channels_last": False},
    "compile": {"compile": True, "channels_last": False},
}
FACE_SIZE = 64


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _matmul_flops(device):
    """FLOP/s of a square matmul in this process: float32 1024 on a CPU, bfloat16 8192 on a GPU."""
    import torch

    cuda = device.type == "cuda"
    n, dtype = (8192, torch.bfloat16) if cuda else (1024, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for _ in range(6):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        a @ a
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return 2 * n**3 / statistics.median(times[1:])


def _trainer(preset, batch, variant, images, device="cpu"):
    from gaia_stim.model import Trainer, preset_config
    from gaia_stim.model.performance import Performance

    return Trainer(tempfile.mkdtemp(prefix="scale."), images, {
        "preset": preset, "config": preset_config(preset), "batch_size": batch, "seed": 0,
        "ablation": "none", "lr_max": 1e-4, "alpha": 5e-5,
    }, device=device, performance=Performance(**VARIANTS[variant]))


def measure_train(preset, batch, variant, steps, device_name):
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gaia_stim.model import preset_config

    device = torch.device(device_name)
    size = preset_config(preset).image_size
    images = np.random.default_rng(0).integers(0, 256, (max(2 * batch, 64), size, size, 3), dtype=np.uint8)
    trainer = _trainer(preset, batch, variant, images, device_name)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    durations = []
    for step in range(steps + 2):
        x = trainer.local_batch(step)
        synchronize()
        started = time.perf_counter()
        trainer.train_step(x)
        synchronize()
        if step >= 2:
            durations.append(time.perf_counter() - started)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(trainer.local_batch(0))
    step_s = statistics.median(durations)
    flops = counter.get_total_flops() / step_s
    matmul = _matmul_flops(device)
    memory = (torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else _peak_rss_mib()
    return {
        "measure": "gpu" if device.type == "cuda" else "train", "preset": preset, "batch_size": batch,
        "variant": variant, "threads": torch.get_num_threads(), "images_per_s": batch / step_s, "step_s": step_s,
        "train_gflops": flops / 1e9, "matmul_gflops": matmul / 1e9, "fraction_of_matmul": flops / matmul,
        "peak_mib": memory,
    }


def make_cache(path, n_images):
    """``n_images`` generated faces at 64 px in ``gaia-stim prepare``'s format, generated in chunks."""
    from gaia_stim.datasets import make_faces
    from gaia_stim.model.cache import write_cache

    chunk = 2000

    def chunks():
        for start in range(0, n_images, chunk):
            yield make_faces(min(chunk, n_images - start), size=FACE_SIZE, seed=start)["images"]

    started = time.perf_counter()
    write_cache(path, chunks(), n_images, FACE_SIZE, 3, source={"generated": f"make_faces, {chunk} per seed"}, force=True)
    return {"seconds": time.perf_counter() - started}


def measure_data(path, where, steps, batch):
    import numpy as np
    import torch

    from gaia_stim.model.cache import ImageCache

    images = ImageCache(path)
    if where == "memory":
        cache = images
        images = np.empty(cache.shape, dtype=np.uint8)  # read in parts: the array is all that is held
        for start in range(0, len(cache), 5000):
            images[start : start + 5000] = cache[np.arange(start, min(start + 5000, len(cache)))]
    trainer = _trainer("small", batch, "plain", images)
    fetch, compute = [], []
    for step in range(steps + 2):
        started = time.perf_counter()
        x = trainer.local_batch(step)
        fetched = time.perf_counter()
        trainer.train_step(x)
        if step >= 2:
            fetch.append(fetched - started)
            compute.append(time.perf_counter() - fetched)
    step_s = statistics.median([f + c for f, c in zip(fetch, compute)])
    return {
        "measure": "data", "where": where, "n_images": int(images.shape[0]), "batch_size": batch,
        "threads": torch.get_num_threads(), "images_per_s": batch / step_s,
        "data_share": sum(fetch) / (sum(fetch) + sum(compute)), "fetch_ms": 1000 * statistics.median(fetch),
        "peak_mib": _peak_rss_mib(),
    }


def measure_paired(path, steps, batch):
    """Cache against memory in one process, step by step: both fetch the same batch, one step trains.

    The step's computation is the same whichever source the batch came from, so each source's
    images/s is batch / (its fetch + the step), free of the machine's changing load between runs.
    """
    import numpy as np

    from gaia_stim.model.cache import ImageCache

    cache = ImageCache(path)
    array = np.empty(cache.shape, dtype=np.uint8)
    for start in range(0, len(cache), 5000):
        array[start : start + 5000] = cache[np.arange(start, min(start + 5000, len(cache)))]
    trainer = _trainer("small", batch, "plain", array)
    fetch = {"cache": [], "memory": []}
    compute = []
    for step in range(steps + 2):
        indices = trainer.batch_indices(step)
        batches = {}
        for where, images in (("cache", cache), ("memory", array)):
            started = time.perf_counter()
            batches[where] = trainer.to_tensor(images[indices])
            fetch[where].append(time.perf_counter() - started)
        assert bool((batches["cache"] == batches["memory"]).all())
        started = time.perf_counter()
        trainer.train_step(batches["memory"])
        compute.append(time.perf_counter() - started)
    rates = {where: batch / statistics.median([f + c for f, c in zip(fetch[where][2:], compute[2:])]) for where in fetch}
    return {
        "measure": "paired", "n_images": len(cache), "batch_size": batch, "cache_images_per_s": rates["cache"],
        "memory_images_per_s": rates["memory"], "ratio": rates["cache"] / rates["memory"],
        "cache_fetch_ms": 1000 * statistics.median(fetch["cache"][2:]),
        "memory_fetch_ms": 1000 * statistics.median(fetch["memory"][2:]), "step_s": statistics.median(compute[2:]),
    }


def measure_api(repeats):
    import numpy as np

    import gaia_stim
    from gaia_stim.stimuli.continua import continuum

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    faces = [os.path.join(root, "examples", "faces", f"face_0000{i}.png") for i in (5, 6)]
    model = gaia_stim.load_model("default")
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        continuum(model, *faces, n_steps=11)
        times.append(time.perf_counter() - started)
    return {"measure": "api", "seconds": float(np.median(times[1:])), "peak_mib": _peak_rss_mib()}


def one(args):
    """Run one measurement in this process (``--one KIND:...``) and print it as JSON."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    kind, *rest = args.one.split(":")
    if kind in ("train", "gpu"):
        preset, batch, variant = rest
        result = measure_train(preset, int(batch), variant, args.steps, "cuda" if kind == "gpu" else "cpu")
    elif kind == "make-cache":
        result = make_cache(args.cache, int(rest[0]))
    elif kind == "data":
        result = measure_data(args.cache, rest[0], args.data_steps, int(rest[1]))
    elif kind == "paired":
        result = measure_paired(args.cache, args.data_steps, int(rest[0]))
    elif kind == "api":
        result = measure_api(args.repeats)
    print(json.dumps(result))


def run_one(spec, args):
    command = [sys.executable, os.path.abspath(__file__), "--one", spec, "--steps", str(args.steps),
               "--threads", str(args.threads), "--data-steps", str(args.data_steps), "--repeats", str(args.repeats)]
    if args.cache:
        command += ["--cache", args.cache]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"scale.py: {spec} failed: {(result.stderr or result.stdout).strip().splitlines()[-1]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def profile(spec, threads):
    """The operators (and the layers they serve) that take a training step's CPU time."""
    import numpy as np
    import torch
    from torch.profiler import ProfilerActivity, profile as torch_profile

    if threads:
        torch.set_num_threads(threads)
    preset, batch = spec.split(":")
    from gaia_stim.model import preset_config

    size = preset_config(preset).image_size
    images = np.random.default_rng(0).integers(0, 256, (64, size, size, 3), dtype=np.uint8)
    trainer = _trainer(preset, int(batch), "plain", images)
    for step in range(2):
        trainer.train_step(trainer.local_batch(step))
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for step in range(2, 4):
            trainer.train_step(trainer.local_batch(step))
    events = prof.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    print(f"\nprofile of 2 steps, {preset} batch {batch}, {torch.get_num_threads()} threads: operators by own CPU time")
    print(f"{'operator':<44} {'share':>6} {'ms/step':>8} {'calls/step':>10}")
    for event in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]:
        print(f"{event.key[:44]:<44} {event.self_cpu_time_total / total:>6.1%} {event.self_cpu_time_total / 2000:>8.1f}"
              f" {event.count // 2:>10}")


def print_table(rows, cli):
    print(f"{'measure':<8} {'setting':<34} {'images/s':>9} {'GFLOP/s':>8} {'matmul':>7} {'fraction':>8} {'data %':>7}"
          f" {'peak MiB':>9}")

    def line(measure, setting, images="", gflops="", matmul="", fraction="", share="", peak=""):
        print(f"{measure:<8} {setting:<34} {images:>9} {gflops:>8} {matmul:>7} {fraction:>8} {share:>7} {peak:>9}")

    for row in rows:
        if row["measure"] in ("train", "gpu"):
            line(row["measure"], f"{row['preset']} b{row['batch_size']} {row['variant']} ({row['threads']} thr)",
                 f"{row['images_per_s']:.1f}", f"{row['train_gflops']:.1f}", f"{row['matmul_gflops']:.0f}",
                 f"{row['fraction_of_matmul']:.0%}", "", f"{row['peak_mib']:.0f}")
        elif row["measure"] == "data":
            line("data", f"small b{row['batch_size']} {row['n_images']:,} in {row['where']}",
                 f"{row['images_per_s']:.1f}", share=f"{row['data_share']:.1%}", peak=f"{row['peak_mib']:.0f}")
        elif row["measure"] == "api":
            line("api", f"warm continuum 11 steps: {row['seconds'] * 1000:.0f} ms", peak=f"{row['peak_mib']:.0f}")
        elif row["measure"] == "gpu-absent":
            line("gpu", "paper b8/b32 fp32/bf16: not measured: no GPU")
    for row in rows:
        if row["measure"] == "paired":
            line("data", f"paired steps: cache {row['cache_images_per_s']:.2f}, memory {row['memory_images_per_s']:.2f}"
                         f" images/s ({row['ratio']:.3f}x); fetch {row['cache_fetch_ms']:.1f} vs {row['memory_fetch_ms']:.1f} ms")
    if cli:
        medians = cli["medians_s"]
        names = list(medians)
        line("cli", f"import torch {medians[names[0]]:.2f} s; continuum {medians[names[2]]:.2f} s"
                    f" ({cli['continuum_over_import_torch']:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32])
    parser.add_argument("--variants", nargs="+", default=["plain", "channels-last", "bf16"], choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=6, help="Timed training steps per row (after 2 warm-up steps).")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--data-images", type=int, default=100_000, help="Generated faces for the data rows (0: skip).")
    parser.add_argument("--data-steps", type=int, default=60, help="Timed steps of each data row.")
    parser.add_argument("--data-batch", type=int, default=16)
    parser.add_argument("--data-rounds", type=int, default=1, help="Alternating runs of the cache and in-memory rows.")
    parser.add_argument("--cache", help="Where the generated cache is (made if missing; default: a temporary folder).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed runs of the cli and api rows.")
    parser.add_argument("--skip-cli", action="store_true", help="Leave out the cold-command and warm-API rows.")
    parser.add_argument("--profile", metavar="PRESET:BATCH", help="Also print a profile of a training step.")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="Also write the rows as a record (date, machine, command).")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args)
        return
    import torch

    rows = []
    for preset in args.presets:
        for batch in args.batch_sizes:
            for variant in args.variants:
                rows.append(run_one(f"train:{preset}:{batch}:{variant}", args))
    if torch.cuda.is_available():
        for batch in (8, 32):
            for variant in ("plain", "bf16"):
                rows.append(run_one(f"gpu:paper:{batch}:{variant}", args))
    else:
        rows.append({"measure": "gpu-absent"})
    temporary = None
    if args.data_images:
        if not args.cache:
            temporary = tempfile.mkdtemp(prefix="scale-cache.")
            args.cache = os.path.join(temporary, "faces")
        if not os.path.exists(args.cache):
            run_one(f"make-cache:{args.data_images}", args)
        for _ in range(args.data_rounds):  # alternating, so that a change in the machine's load hits both
            for where in ("cache", "memory"):
                rows.append(run_one(f"data:{where}:{args.data_batch}", args))
        rows.append(run_one(f"paired:{args.data_batch}", args))
    cli = None
    if not args.skip_cli:
        import cli_speed

        script = cli_speed.gaia_stim_script()
        to_run = cli_speed.commands(cli_speed.DEFAULT_FROM, cli_speed.DEFAULT_TO, "default", script)
        _, cli = cli_speed.report(cli_speed.measure(to_run, args.repeats))
        rows.append({"measure": "cli", **{k: cli[k] for k in ("medians_s", "continuum_over_import_torch")}})
        rows.append(run_one("api", args))
    if temporary:
        import shutil

        shutil.rmtree(temporary, ignore_errors=True)
    print_table(rows, cli)
    if args.profile:
        profile(args.profile, args.threads)
    if args.json_path:
        write_record(args.json_path, rows, __file__)


if __name__ == "__main__":
    main()
