"""Wall time of the command line against ``python -c "import torch"`` measured beside it.

Runs, alternating, ``--repeats`` times each (after one untimed round to warm the file cache):

* ``python -c "import torch"``: the floor any command that uses a model pays;
* ``gaia-stim --help``: must not import torch;
* ``gaia-stim continuum --from A --to B --steps 11 --out <fresh tmp> --force``: a cold process
  that loads the model, encodes two faces, decodes 11 images and writes the stimulus set.

Prints the medians and the ratio continuum / import torch. Targets:
continuum <= 1.6x import torch, ``--help`` <= 0.3 s. The machine is shared and noisy, which is
why the ratio is measured in one run with the commands interleaved.

    python benchmarks/cli_speed.py [--repeats 5] [--from A.png --to B.png] [--model default]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FROM = os.path.join(ROOT, "examples", "faces", "face_00005.png")
DEFAULT_TO = os.path.join(ROOT, "examples", "faces", "face_00006.png")
CONTINUUM_TARGET = 1.6  # continuum wall time over import-torch wall time
HELP_TARGET_S = 0.3
N_STEPS = 11


def gaia_stim_script():
    """The ``gaia-stim`` entry point installed beside this Python."""
    name = "gaia-stim.exe" if os.name == "nt" else "gaia-stim"
    return os.path.join(os.path.dirname(sys.executable), name)


def missing_inputs(image_a, image_b, model, script):
    """What the benchmark needs and does not find, as a list of short descriptions."""
    missing = []
    if not os.path.isfile(script):
        missing.append(f"the gaia-stim script {script} (pip install -e . in this environment)")
    for role, path in (("--from", image_a), ("--to", image_b)):
        if not os.path.isfile(path):
            missing.append(f"{role} image {path}")
    if model == "default":
        from gaia_stim.api import default_model_path

        if not os.path.isfile(default_model_path()):
            missing.append(f"the default model {default_model_path()}")
    elif not os.path.exists(model):
        missing.append(f"--model {model}")
    return missing


def commands(image_a, image_b, model, script):
    """{name: function(out_dir) -> argv} of the commands timed, in the order they alternate."""
    return {
        'python -c "import torch"': lambda out: [sys.executable, "-c", "import torch"],
        "gaia-stim --help": lambda out: [script, "--help"],
        f"gaia-stim continuum ({N_STEPS} steps, cold)": lambda out: [
            script, "continuum", "--from", image_a, "--to", image_b, "--steps", str(N_STEPS),
            "--model", model, "--out", out, "--force",
        ],
    }


def time_command(argv):
    """Wall time of one run in seconds; raises SystemExit with the command's last error line if it fails."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise SystemExit(
            f"cli_speed: error: {os.path.basename(argv[0])} {' '.join(argv[1:2])} ... exited with status {result.returncode}: "
            f"{lines[-1] if lines else 'no output'}"
        )
    return elapsed


def measure(to_run, repeats, warmup=1):
    """Run the commands alternately; {name: [seconds per timed run]}."""
    times = {name: [] for name in to_run}
    scratch = tempfile.mkdtemp(prefix="cli_speed.")
    try:
        for round_index in range(warmup + repeats):
            for name, make_argv in to_run.items():
                out = os.path.join(scratch, f"x{round_index}")  # a fresh folder every run
                elapsed = time_command(make_argv(out))
                if round_index >= warmup:
                    times[name].append(elapsed)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times


def report(times):
    """Table of medians and the two targets (a string) and the summary numbers (a dict)."""
    names = list(times)
    torch_name, help_name, continuum_name = names
    medians = {name: statistics.median(values) for name, values in times.items()}
    width = max(len(name) for name in names)
    lines = [f"{'command'.ljust(width)}  median_s  min_s  max_s  runs"]
    for name in names:
        values = times[name]
        lines.append(
            f"{name.ljust(width)}  {medians[name]:8.3f}  {min(values):5.3f}  {max(values):5.3f}  {len(values):4d}"
        )
    ratio = medians[continuum_name] / medians[torch_name]
    help_s = medians[help_name]
    lines.append("")
    lines.append(
        f"continuum / import torch: {ratio:.2f}x (target <= {CONTINUUM_TARGET}x):"
        f" {'met' if ratio <= CONTINUUM_TARGET else 'NOT met'}"
    )
    lines.append(
        f"--help: {help_s:.3f} s (target <= {HELP_TARGET_S} s): {'met' if help_s <= HELP_TARGET_S else 'NOT met'}"
    )
    summary = {
        "medians_s": medians,
        "times_s": times,
        "continuum_over_import_torch": ratio,
        "continuum_target_met": ratio <= CONTINUUM_TARGET,
        "help_median_s": help_s,
        "help_target_met": help_s <= HELP_TARGET_S,
    }
    return "\n".join(lines), summary


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cli_speed.py",
        description="Median wall time of gaia-stim --help and a cold continuum against python -c 'import torch'.",
    )
    parser.add_argument("--repeats", type=int, default=5, help="Timed runs of each command (default 5).")
    parser.add_argument("--from", dest="image_a", default=DEFAULT_FROM, help="Image at morph level 0 (default examples/faces/face_00005.png).")
    parser.add_argument("--to", dest="image_b", default=DEFAULT_TO, help="Image at morph level 1 (default examples/faces/face_00006.png).")
    parser.add_argument("--model", default="default", help="Model for the continuum: 'default', a run folder or a model file.")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="Also write the times as JSON.")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    script = gaia_stim_script()
    missing = missing_inputs(args.image_a, args.image_b, args.model, script)
    if missing:
        raise SystemExit("cli_speed: error: missing " + "; ".join(missing))
    to_run = commands(os.path.abspath(args.image_a), os.path.abspath(args.image_b), args.model, script)
    times = measure(to_run, args.repeats)
    table, summary = report(times)
    print(f"cli_speed: {args.repeats} timed runs each, alternating, after 1 untimed round; python {platform.python_version()}")
    print(table)
    if args.json_path:
        import torch

        import gaia_stim

        record = {
            "benchmark": "cli_speed",
            "repeats": args.repeats,
            "from": args.image_a,
            "to": args.image_b,
            "model": args.model,
            "versions": {"gaia_stim": gaia_stim.__version__, "torch": str(torch.__version__), "python": platform.python_version()},
            **summary,
        }
        with open(args.json_path, "w") as stream:
            json.dump(record, stream, indent=2)
            stream.write("\n")
        print(f"wrote {args.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
