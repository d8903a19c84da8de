"""Attribute axes validated on synthetic faces, where every parameter's true value is known.

Axes are fitted on the shipped model's codes of labelled faces (make_faces, seed 12345: faces the
model was not trained on) and applied to other held-out faces (seed 777). Every manipulated image
is measured with the face-parameter estimator (analysis by synthesis, independent of the GAIA
model). For each of the 16 parameters and each way of making its direction:

* ``gain``: measured change of that parameter per unit moved along its axis (least-squares slope
  over the steps, mean over faces); 1 is ideal, the issue asks for 0.75 to 1.25;
* ``worst_other``: the other parameter that moves most over the whole manipulation, and by how
  much (in units of its range, which is 1); the issue asks for at most 0.15;
* ``recon_error``: mean absolute error of the parameter measured on the model's reconstruction
  of the test faces (amount 0): how well the model carries it at all;
* ``ceiling_gain``: the same gain for the true manipulation passed through the model (the test
  faces rendered with that parameter moved, encoded and decoded), the best any latent direction
  could show with this model, and the gain of the true renders themselves (``render_gain``, 1 if
  the measurement is sound).

Test faces are Beta(2, 2) faces shrunk halfway to the average face (parameters in [0.25, 0.75]),
so that moving any parameter by up to 0.25 stays inside [0, 1] and the measurement is not clipped.

Ways: ``joint`` (OLS of codes on all 16 parameters), ``mean-difference`` (one regression per
parameter), ``joint+orthogonal`` (joint, orthogonal to all 15 others in the codes' covariance
metric), ``joint+orthogonal-euclidean`` (the same in Euclidean z), ``joint+orthogonal+calibrated``
(joint+orthogonal after calibrate_axes on 32 of the fit codes: each axis lengthened by what the
model's images lose of it, judged by the model's own read-out, never by the face estimator),
``joint+orthogonal+calibrated+corrected`` (the same, each moved code then steered by
``correct_codes``, 2 corrections by default (``--corrections``), as ``gaia-stim attribute --corrections 2`` does: its
image read back and the code moved along the axes until the read-out changes only the asked
attribute; again the model's read-out, never the face estimator).

    .venv/bin/python benchmarks/attribute_axes.py            # prints the table, writes the record
    .venv/bin/python benchmarks/attribute_axes.py --quick    # 400 fit faces, 2 test faces: a smoke run
    .venv/bin/python benchmarks/attribute_axes.py --test-seed 4242 --ways joint+orthogonal+calibrated,joint+orthogonal+calibrated+corrected \
        --record docs/records/attribute_axes_seed4242.json --sheet ''   # other test faces, two ways, no sheet
    .venv/bin/python benchmarks/attribute_axes.py --markdown docs/records/attribute_axes.json   # docs/axes.md's table
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _records import write_record  # noqa: E402
from feature_ceiling import TEST_SEED, feature_ceiling, slopes, test_faces, to_uint8  # noqa: E402

import gaia_stim  # noqa: E402
from gaia_stim.datasets.face_estimator import estimate_parameters  # noqa: E402
from gaia_stim.datasets import PARAMETERS, make_faces, render  # noqa: E402
from gaia_stim.stimuli.axes import AttributeAxes, AttributeAxesWarning, calibrate_axes, correct_codes  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = os.path.join(ROOT, "docs", "records", "attribute_axes.json")
SHEET = os.path.join(ROOT, "docs", "images", "attribute_axes_sheet.png")
FIT_SEED = 12345
GAIN_TOLERANCE, LEAK_LIMIT = 0.25, 0.15
WAYS = {
    "joint": (dict(method="joint", metric="covariance"), None),
    "mean-difference": (dict(method="mean-difference", metric="covariance"), None),
    "joint+orthogonal": (dict(method="joint", metric="covariance"), "all"),
    "joint+orthogonal-euclidean": (dict(method="joint", metric="euclidean"), "all"),
    "joint+orthogonal+calibrated": (dict(method="joint", metric="covariance"), "all"),
    "joint+orthogonal+calibrated+corrected": (dict(method="joint", metric="covariance"), "all"),
}
SHEET_WAY = "joint+orthogonal+calibrated+corrected"  # what 'gaia-stim attribute --corrections 2' makes
SHEET_AXES = ("hair_length", "skin_tone", "head_width", "eye_size")
# The correlated fit set: each second parameter is made half the first plus half itself
# (correlation about 0.7), as labels of real photographs are correlated (darker hair with darker skin).
CORRELATED_PAIRS = (("hair_darkness", "skin_tone"), ("head_width", "hair_length"))


def measure(model, axes, codes, name, amounts, orthogonal_to, corrections=0):
    moved = axes.apply(codes, name, amounts, orthogonal_to=orthogonal_to)  # (faces, steps, latent)
    if corrections:
        asked = np.zeros((len(amounts), len(axes.attribute_names_)))
        asked[:, axes.attribute_names_.index(name)] = amounts
        moved = np.stack([correct_codes(axes, model, code, path, asked, corrections) for code, path in zip(codes, moved)])
    images = model.decode(moved.reshape(-1, moved.shape[-1]).astype(np.float32))
    measured = estimate_parameters(images).reshape(len(codes), len(amounts), -1)
    return images.reshape(len(codes), len(amounts), *images.shape[1:]), measured


def contact_sheet(rows, labels, amounts, path):
    """Rows of images (each row one axis on one face) with a label on the left, enlarged 2x."""
    scale, gap, left = 2, 4, 150
    size = rows[0][0].shape[0] * scale
    width = left + len(amounts) * (size + gap)
    height = 24 + len(rows) * (size + gap)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for column, amount in enumerate(amounts):
        draw.text((left + column * (size + gap) + size // 2 - 12, 6), f"{amount:+.2f}", fill=(0, 0, 0))
    for row, (images, label) in enumerate(zip(rows, labels)):
        top = 24 + row * (size + gap)
        draw.text((6, top + size // 2 - 12), label, fill=(0, 0, 0))
        for column, image in enumerate(images):
            tile = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
            sheet.paste(tile.resize((size, size), Image.Resampling.NEAREST), (left + column * (size + gap), top))
    sheet.save(path, format="PNG")


def markdown_table(rows):
    """docs/axes.md's table of a record's independent fits: gain / worst other, bold where met."""
    independent = [row for row in rows if row["fit_set"] == "independent"]
    ways = list(dict.fromkeys(row["way"] for row in independent))
    bold = lambda text, ok: f"**{text}**" if ok else text  # noqa: E731
    lines = ["| parameter | R^2 | ceiling | " + " | ".join(
        way.replace("+", ", ").replace("-euclidean", " (Euclidean)") for way in ways) + " |",
        "|---" * (3 + len(ways)) + "|"]
    for name in PARAMETERS:
        mine = {row["way"]: row for row in independent if row["parameter"] == name}
        first = mine[ways[0]]
        cells = [f"{bold(format(mine[way]['gain'], '.2f'), mine[way]['gain_ok'])} / "
                 f"{bold(format(mine[way]['worst_other_change'], '.2f'), mine[way]['others_ok'])} {mine[way]['worst_other']}"
                 for way in ways]
        lines.append(f"| {name} | {first['r2_cv']:.2f} | {first['ceiling_gain']:.2f} | " + " | ".join(cells) + " |")
    counts = []
    for way in ways:
        mine = [row for row in independent if row["way"] == way]
        counts.append(f"{sum(r['gain_ok'] for r in mine)} / {sum(r['others_ok'] for r in mine)} / "
                      f"{sum(r['gain_ok'] and r['others_ok'] for r in mine)}")
    lines.append("| **passing** (gain / others / both, of 16) | | | " + " | ".join(counts) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-faces", type=int, default=3000)
    parser.add_argument("--test-faces", type=int, default=6)
    parser.add_argument("--amount", type=float, default=0.25, help="steps go from -AMOUNT to +AMOUNT")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--model", default="default", help="'default', a run folder or a model file")
    parser.add_argument("--record", default=RECORD, help="where the JSON record goes")
    parser.add_argument("--sheet", default=SHEET, help="where the contact sheet goes")
    parser.add_argument("--test-seed", type=int, default=TEST_SEED, help="seed of the test faces")
    parser.add_argument("--corrections", type=int, default=2,
                        help="corrections of the '+corrected' way (gaia-stim attribute --corrections)")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated ways to measure (default: all)")
    parser.add_argument("--quick", action="store_true", help="a smoke run; writes no record")
    parser.add_argument("--markdown", metavar="RECORD", help="print docs/axes.md's table of a record and exit")
    args = parser.parse_args()
    if args.markdown:
        with open(args.markdown) as stream:
            print(markdown_table(json.load(stream)["rows"]))
        return
    ways = [way for way in args.ways.split(",") if way]
    unknown = [way for way in ways if way not in WAYS]
    if unknown or not ways:
        parser.error(f"--ways: unknown {unknown}; choose from {', '.join(WAYS)}")
    if args.quick:
        args.fit_faces, args.test_faces = 400, 2

    started = time.perf_counter()
    model = gaia_stim.load_model(args.model)
    fit = make_faces(args.fit_faces, size=model.image_size, seed=FIT_SEED)
    codes = model.encode(fit["images"])
    labels = fit["parameters"][list(PARAMETERS)]
    truth = test_faces(args.test_faces, args.test_seed)
    test_codes = model.encode(to_uint8(render(truth, model.image_size)))
    amounts = np.linspace(-args.amount, args.amount, args.steps)
    span = amounts[-1] - amounts[0]
    ceiling = {
        name: [row["render_gain"], row["ceiling_gain"], row["worst_other"], row["worst_other_change"]]
        for name, row in feature_ceiling(model, args.test_faces, args.amount, args.steps, args.test_seed).items()
    }
    print(f"ceiling done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    fit_sets = {"independent": (codes, labels)}
    correlated = labels.copy()
    for first, second in CORRELATED_PAIRS:
        correlated[second] = 0.5 * correlated[first] + 0.5 * correlated[second]
    correlated_images = to_uint8(render(correlated.to_numpy(), model.image_size))
    fit_sets["correlated"] = (model.encode(correlated_images), correlated)
    print(f"fitted on {args.fit_faces} faces (seed {FIT_SEED}); tested on {args.test_faces} faces (seed"
          f" {args.test_seed}); amounts {amounts.round(3).tolist()}; model sha256 {model.file_sha256[:12]}")

    rows, sheet_rows, sheet_labels = [], [], []
    recon_error = None
    runs = [("independent", way) for way in ways] + [("correlated", way) for way in ("joint", "mean-difference")
                                                       if way in ways]
    for fit_set, way in runs:
        params, orthogonal_to = WAYS[way]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AttributeAxesWarning)
            axes = AttributeAxes(**params).fit(*fit_sets[fit_set])
            if "calibrated" in way:
                calibrate_axes(axes, model, fit_sets[fit_set][0])
        for index, name in enumerate(PARAMETERS):
            if fit_set == "correlated" and name not in {p for pair in CORRELATED_PAIRS for p in pair}:
                continue
            corrections = args.corrections if way.endswith("corrected") else 0
            images, measured = measure(model, axes, test_codes, name, amounts, orthogonal_to, corrections)
            if recon_error is None:
                recon_error = np.abs(measured[:, args.steps // 2] - truth).mean(axis=0)
            per_face = slopes(amounts, measured)  # (faces, 16)
            mean_slope = per_face.mean(axis=0)
            others = np.abs(np.delete(mean_slope, index)) * span
            worst = int(np.argmax(others))
            gain = float(mean_slope[index])
            row = {
                "fit_set": fit_set,
                "way": way,
                "parameter": name,
                "r2_cv": round(float(axes.r2_[index]), 3),
                "readout_gain": None if np.isnan(axes.readout_gain_[index]) else round(float(axes.readout_gain_[index]), 3),
                "recon_error": round(float(recon_error[index]), 3),
                "render_gain": round(ceiling[name][0], 3),
                "ceiling_gain": round(ceiling[name][1], 3),
                "ceiling_worst_other": ceiling[name][2],
                "ceiling_worst_other_change": round(ceiling[name][3], 3),
                "gain": round(gain, 3),
                "gain_ok": bool(abs(gain - 1) <= GAIN_TOLERANCE),
                "worst_other": [p for p in PARAMETERS if p != name][worst],
                "worst_other_change": round(float(others[worst]), 3),
                "others_ok": bool(others[worst] <= LEAK_LIMIT),
            }
            if fit_set == "correlated":
                partner = next(b if a == name else a for a, b in CORRELATED_PAIRS if name in (a, b))
                row["partner"] = partner
                row["partner_change"] = round(float(mean_slope[PARAMETERS.index(partner)] * span), 3)
            rows.append(row)
            if fit_set == "independent" and way == SHEET_WAY and name in SHEET_AXES:
                for face in range(min(3, args.test_faces)):
                    sheet_rows.append(images[face])
                    sheet_labels.append(f"{name}\nface {face}")
        print(f"{fit_set} {way}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    independent = [row for row in rows if row["fit_set"] == "independent"]

    header = f"{'parameter':<16} {'R2cv':>5} {'recon':>5} {'ceil':>5} | " + " | ".join(
        f"{way.replace('orthogonal', 'orth').replace('calibrated', 'cal').replace('corrected', 'corr'):^28}" for way in ways)
    print(header)
    print(f"{'':<16} {'':>5} {'err':>5} {'gain':>5} | " + " | ".join(f"{'gain  worst other (chg)':^28}" for _ in ways))
    for name in PARAMETERS:
        cells = []
        for way in ways:
            row = next(r for r in independent if r["way"] == way and r["parameter"] == name)
            mark = ("*" if row["gain_ok"] else " ") + ("*" if row["others_ok"] else " ")
            cells.append(f"{row['gain']:5.2f}{mark} {row['worst_other'][:14]:<14} {row['worst_other_change']:4.2f}")
        first = next(r for r in independent if r["parameter"] == name)
        print(f"{name:<16} {first['r2_cv']:5.2f} {first['recon_error']:5.3f} {first['ceiling_gain']:5.2f} | " + " | ".join(f"{c:<28}" for c in cells))
    print("* after the gain: within 25 % of 1; * after that: every other parameter moves <= 0.15;"
          " ceil gain: the true change passed through the model (encode, decode)")
    print(f"true renders measured: gain {min(g[0] for g in ceiling.values()):.3f} to {max(g[0] for g in ceiling.values()):.3f}")
    print("the true change passed through the model moves other parameters by up to: " + ", ".join(
        f"{name} -> {g[2]} {g[3]:.2f}" for name, g in ceiling.items() if g[3] > LEAK_LIMIT))
    for way in ways:
        mine = [r for r in independent if r["way"] == way]
        both = sum(r["gain_ok"] and r["others_ok"] for r in mine)
        print(f"{way:<37} gain ok {sum(r['gain_ok'] for r in mine):2d}/16, others ok"
              f" {sum(r['others_ok'] for r in mine):2d}/16, both {both:2d}/16")
    print(f"fitted on correlated labels ({', '.join(f'{a}~{b}' for a, b in CORRELATED_PAIRS)}, r about 0.7):")
    for row in rows:
        if row["fit_set"] == "correlated":
            print(f"  {row['way']:<16} {row['parameter']:<14} gain {row['gain']:5.2f}"
                  f"  {row['partner']:<14} {row['partner_change']:+5.2f}  worst other {row['worst_other']:<14} {row['worst_other_change']:4.2f}")
    if not args.quick:
        write_record(args.record, rows, __file__)
        print(f"wrote {args.record}")
        if args.sheet and sheet_rows:
            contact_sheet(sheet_rows, [label.replace("\n", ", ") for label in sheet_labels], amounts, args.sheet)
            print(f"wrote {args.sheet}")
    print(json.dumps({"seconds": round(time.perf_counter() - started)}))


if __name__ == "__main__":
    main()
