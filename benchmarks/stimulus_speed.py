"""Speed of the stimulus layer: a large grid written as a set, and equal against linear spacing.

1. A SIDE x SIDE grid (default 100 x 100 = 10,000 images) at the default model's 64 px, written
   with ``write_set`` (decoded, written and hashed a batch at a time): images per second, and the
   process's peak resident memory (everything: Python, torch, the model) before and after.
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

    def timed(function):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    linear = timed(lambda: continuum(model, *FACES[:2], n_steps=11))
    for metric in ("pixel", "ssim"):
        equal = timed(lambda: continuum(model, *FACES[:2], n_steps=11, spacing="equal", metric=metric))
        rows.append({"measure": f"11-step continuum, equal ({metric}) / linear", "value": round(equal / linear, 2),
                     "unit": "ratio", "detail": f"equal {equal:.2f} s, linear {linear:.2f} s (median of {args.repeats})"})

    command = [os.path.join(os.path.dirname(sys.executable), "gaia-stim"), "continuum", "--from", FACES[0], "--to",
               FACES[1], "--steps", "11", "--force"]
    scratch = tempfile.mkdtemp()
    try:
        def run(*extra):
            subprocess.run(command + ["--out", os.path.join(scratch, "set"), *extra], check=True, capture_output=True)

        linear_cli = timed(run)
        for metric in ("pixel", "ssim"):
            equal_cli = timed(lambda: run("--spacing", "equal", "--metric", metric))
            rows.append({"measure": f"gaia-stim continuum --steps 11, equal ({metric}) / linear",
                         "value": round(equal_cli / linear_cli, 2), "unit": "ratio",
                         "detail": f"equal {equal_cli:.2f} s, linear {linear_cli:.2f} s (median of {args.repeats})"})
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

    width = max(len(row["measure"]) for row in rows)
    print(f"{'measure':<{width}}  {'value':>9}  unit      detail")
    for row in rows:
        print(f"{row['measure']:<{width}}  {row['value']:>9}  {row['unit']:<8}  {row['detail']}")
    if args.record:
        from _records import write_record

        write_record(args.record, rows, __file__)


if __name__ == "__main__":
    main()
