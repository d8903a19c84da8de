"""Speed of the stimulus layer: a large grid written as a set, and equal against linear spacing.

1. A SIDE x SIDE grid (default 100 x 100 = 10,000 images) at the default model's 64 px, written
   with ``write_set`` (decoded, written and hashed a batch at a time): images per second, and the
   process's peak resident memory (everything: Python, torch, the model) before and after; and
   the writer alone, given the images already decoded.
2. An 11-step continuum, linear and equal spacing (pixel and SSIM): median of --repeats calls of
   the library function with the model loaded, and of the whole command (``gaia-stim continuum``
   in a fresh process, set written), with the ratio equal / linear measured in the same run (the
   machine is shared: read ratios, not absolute times).

    python benchmarks/stimulus_speed.py [--side 100] [--repeats 5] [--record docs/records/stimulus_speed.json]
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
FACES = [os.path.join(ROOT, "examples", "faces", f"face_0000{i}.png") for i in (5, 6, 7)]


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--record", default=None, help="also write the rows as a JSON record here")
    args = parser.parse_args()

    import gaia_stim as gs
    from gaia_stim.io.sets import write_set
    from gaia_stim.stimuli import continuum, grid

    model = gs.load_model("default")
    rows = []

    def interleaved(functions):
        """Median time of each function, and median ratio of each to the first, over rounds that run
        them one after the other (so a load change on the shared machine hits all of them)."""
        times = {name: [] for name in functions}
        for _ in range(args.repeats):
            for name, function in functions.items():
                start = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - start)
        first = next(iter(functions))
        return {name: (statistics.median(values), statistics.median(v / f for v, f in zip(values, times[first])))
                for name, values in times.items()}

    def report(label, measured):
        linear = measured["linear"][0]
        for metric in ("pixel", "ssim"):
            seconds, ratio = measured[metric]
            rows.append({"measure": f"{label}, equal ({metric}) / linear", "value": round(ratio, 2), "unit": "ratio",
                         "detail": f"equal {seconds:.2f} s, linear {linear:.2f} s (medians of {args.repeats} rounds)"})

    report("11-step continuum", interleaved({
        "linear": lambda: continuum(model, *FACES[:2], n_steps=11),
        **{metric: (lambda metric=metric: continuum(model, *FACES[:2], n_steps=11, spacing="equal", metric=metric))
           for metric in ("pixel", "ssim")},
    }))

    command = [os.path.join(os.path.dirname(sys.executable), "gaia-stim"), "continuum", "--from", FACES[0], "--to",
               FACES[1], "--steps", "11", "--force"]
    scratch = tempfile.mkdtemp()
    try:
        def run(*extra):
            subprocess.run(command + ["--out", os.path.join(scratch, "set"), *extra], check=True, capture_output=True)

        report("gaia-stim continuum --steps 11", interleaved({
            "linear": run,
            **{metric: (lambda metric=metric: run("--spacing", "equal", "--metric", metric)) for metric in ("pixel", "ssim")},
        }))
    finally:
        shutil.rmtree(scratch)

    before = peak_mib()
    scratch = tempfile.mkdtemp()
    try:
        start = time.perf_counter()
        result = grid(model, FACES, n_rows=args.side, n_columns=args.side)
        write_set(os.path.join(scratch, "grid"), result, model)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch)
    count = args.side * args.side
    rows.append({"measure": f"{args.side} x {args.side} grid at 64 px written", "value": round(count / seconds, 1),
                 "unit": "images/s", "detail": f"{count} images in {seconds:.1f} s"})
    rows.append({"measure": "peak resident memory of the process", "value": round(peak_mib()),
                 "unit": "MiB", "detail": f"{before:.0f} MiB before the grid (model loaded, continua made)"})

    # The writer alone (PNG, sha256, table, sheet), given 8-bit images decoded beforehand: the
    # same grid's first 100 images repeated, so what the decoder costs is left out.
    import numpy as np

    from gaia_stim.io.images import to_uint8
    from gaia_stim.io.sets import write_stimulus_set

    pixels = to_uint8(model.decode(result["latents"][:100]))
    images = np.concatenate([pixels] * (count // 100))
    table = [{"image_file": f"images/{name}", **row} for name, row in zip(result["file_names"], result["rows"])]
    scratch = tempfile.mkdtemp()
    try:
        start = time.perf_counter()
        write_stimulus_set(os.path.join(scratch, "grid"), images, table, {}, model, sheet_columns=args.side)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch)
    rows.append({"measure": "the set writer alone, images decoded beforehand", "value": round(count / seconds, 1),
                 "unit": "images/s", "detail": f"{count} images in {seconds:.1f} s"})

    width = max(len(row["measure"]) for row in rows)
    print(f"{'measure':<{width}}  {'value':>9}  unit      detail")
    for row in rows:
        print(f"{row['measure']:<{width}}  {row['value']:>9}  {row['unit']:<8}  {row['detail']}")
    if args.record:
        from _records import write_record

        write_record(args.record, rows, __file__)


if __name__ == "__main__":
    main()
