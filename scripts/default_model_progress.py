"""Measure the default model's run against the targets, and keep the row in docs/records.

    python scripts/default_model_progress.py --work ../runs/default-v2 --threads 1 [--no-record]

Measures the run's current model (``WORK/gaia/model.pt``), its AE comparison where there is one
(``WORK/ae``) and the shipped default model (labelled ``shipped`` and the first 12 hex digits of
its sha256, so that rows of successive default models stay apart), on held-out synthetic faces:

* ``recon_ssim``: reconstruction SSIM on 200 faces (seed 12345);
* ``ceiling_at_least_0.7``: face parameters of 16 whose true +-0.25 change survives encode ->
  decode at 0.7 or more of its size (``benchmarks/feature_ceiling.py``, 6 faces);
* the middle morph levels (0.3-0.7) of 20 held-out pairs (``benchmarks/interpolation_quality.py``):
  ``pixel_error`` against the true morph and ``realism_pixel`` (distance to the nearest face),
  each also as a ratio to the cross-fade's, and ``path_deviation``;
* extrapolation: ``realism_pixel`` at morph level 1.5 of the same pairs, and at the far side (180
  degrees) of wheels around 10 held-out faces (default radius), against the cross-fade middle's.

``--model PATH=LABEL`` (repeatable) measures the given model files instead, e.g. a snapshot of the GAIA
run taken at the CPU-seconds the AE arm has reached.

Appends one row per model to ``docs/records/default_model_progress.json`` (with the steps, the
CPU-hours, the threads and the load average) and prints the table of every row so far.
"""

import argparse
import datetime
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
RECORD = os.path.join(ROOT, "docs", "records", "default_model_progress.json")
SEED = 12345


def extrapolation_realism(model, n_pairs=20, n_wheels=10, seed=SEED):
    """Realism (RMS pixel distance to the nearest face) at morph level 1.5 and on wheels' far sides."""
    from face_quality import held_out_pairs

    from gaia_stim.datasets.face_estimator import realism
    from gaia_stim.datasets import render, sample_parameters
    from gaia_stim.stimuli import wheel

    params_a, params_b = held_out_pairs(n_pairs, seed)
    to_uint8 = lambda images: np.round(images * 255).astype(np.uint8)  # noqa: E731
    codes_a = model.encode(to_uint8(render(params_a, model.image_size)))
    codes_b = model.encode(to_uint8(render(params_b, model.image_size)))
    beyond = model.decode((-0.5 * codes_a + 1.5 * codes_b).astype(np.float32))
    triplets = render(sample_parameters(3 * n_wheels, np.random.default_rng([seed, 3])), model.image_size)
    far = []
    for index in range(n_wheels):
        centre, a, b = (to_uint8(triplets[3 * index + k]) for k in range(3))
        far.append(wheel(model, centre, a, b, n_images=4)["images"][2])
    return float(realism(beyond)["pixel"].mean()), float(realism(np.stack(far))["pixel"].mean())


def measure(model, label):
    from face_quality import reconstruction_quality
    from feature_ceiling import feature_ceiling
    from interpolation_quality import evaluate

    training = model.training or {}
    rows, _ = evaluate([model], [label], family="faces", n_pairs=20, n_recon=200)
    morph, fade = rows[0], rows[1]
    ceiling = feature_ceiling(model)
    gains = np.array([row["ceiling_gain"] for row in ceiling.values()])
    beyond, far_side = extrapolation_realism(model)
    return {
        "model": label,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": getattr(model, "file_sha256", None),
        "steps": training.get("steps"),
        "warmup_steps": training.get("warmup_steps"),
        "warmup_ended": training.get("warmup_ended"),
        "cpu_hours": None if training.get("cpu_s") is None else round(training["cpu_s"] / 3600, 3),
        "train_hours": None if training.get("elapsed_s") is None else round(training["elapsed_s"] / 3600, 3),
        "threads": training.get("threads"),
        "load_1m": training.get("load_1m"),
        "recon_ssim": round(reconstruction_quality(model, 200, SEED)["ssim_mean"], 4),
        "ceiling_at_least_0.7": int((gains >= 0.7).sum()),
        "ceiling": {name: round(row["ceiling_gain"], 3) for name, row in ceiling.items()},
        "pixel_error": round(morph["pixel_error"], 5),
        "pixel_error_vs_crossfade": round(morph["pixel_error"] / fade["pixel_error"], 3),
        "realism_pixel": round(morph["realism_pixel"], 5),
        "realism_vs_crossfade": round(morph["realism_pixel"] / fade["realism_pixel"], 3),
        "path_deviation": round(morph["path_deviation"], 4),
        "realism_at_1.5": round(beyond, 5),
        "realism_wheel_far_side": round(far_side, 5),
        "crossfade_realism_pixel": round(fade["realism_pixel"], 5),
    }


COLUMNS = (
    ("model", "{}"), ("steps", "{}"), ("cpu_hours", "{}"), ("recon_ssim", "{:.4f}"), ("ceiling_at_least_0.7", "{}/16"),
    ("pixel_error_vs_crossfade", "{:.3f}"), ("realism_vs_crossfade", "{:.3f}"), ("path_deviation", "{:.4f}"),
    ("realism_at_1.5", "{:.4f}"), ("realism_wheel_far_side", "{:.4f}"), ("crossfade_realism_pixel", "{:.4f}"),
    ("threads", "{}"), ("load_1m", "{}"),
)


def table(rows):
    lines = ["| date | " + " | ".join(name for name, _ in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        cells = [row["date_utc"][:16].replace("T", " ")]
        cells += ["" if row.get(name) is None else form.format(row[name]) for name, form in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=os.path.join("..", "runs", "default-v2"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-shipped", action="store_true", help="do not measure the shipped model again")
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument("--model", action="append", default=[], metavar="PATH=LABEL",
                        help="measure this model file instead of the run's (repeatable); e.g. a GAIA snapshot"
                             " taken at the AE arm's CPU-seconds")
    args = parser.parse_args(argv)
    import torch

    import gaia_stim

    torch.set_num_threads(args.threads)
    models = [(os.path.join(args.work, "gaia", "model.pt"), "default-v2 GAIA"),
              (os.path.join(args.work, "ae", "model.pt"), "default-v2 AE")]
    if args.model:
        models = [tuple(given.split("=", 1)) if "=" in given else (given, os.path.basename(given))
                  for given in args.model]
    if not args.no_shipped:
        models.append(("default", "shipped"))
    rows = []
    for path, label in models:
        if path != "default" and not os.path.exists(path):
            continue
        model = gaia_stim.load_model(path)
        if path == "default":  # which file: the default model is replaced from time to time
            label = f"{label} {model.file_sha256[:12]}"
        rows.append(measure(model, label))
        print(f"measured {label}", file=sys.stderr, flush=True)
    previous = []
    if os.path.exists(RECORD):
        with open(RECORD) as stream:
            previous = json.load(stream)["rows"]
    everything = previous + rows
    if not args.no_record:
        record = {"command": "python scripts/default_model_progress.py " + " ".join(sys.argv[1:]), "rows": everything}
        with open(RECORD + ".tmp", "w") as stream:
            json.dump(record, stream, indent=2)
            stream.write("\n")
        os.replace(RECORD + ".tmp", RECORD)
    print(table(everything))


if __name__ == "__main__":
    main()
