"""Write docs/recipe_results.md from the interpolation-quality records in docs/records/recipe_*.json.

    python scripts/write_recipe_results.py

Each record is one evaluation (``benchmarks/interpolation_quality.py --json``) of a group of runs
trained for the same wall-clock budget at the same time on the same machine; its rows become one
table, with the command that measured it.
"""

import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS = os.path.join(ROOT, "docs", "records")
OUT = os.path.join(ROOT, "docs", "recipe_results.md")
COLUMNS = (
    ("method", "run", "{}"), ("recipe", "recipe", "{}"), ("ablation", "ablation", "{}"), ("steps", "steps", "{}"),
    ("elapsed_s", "train s", "{:.0f}"), ("recon_ssim", "recon SSIM", "{:.3f}"), ("pixel_error", "pixel err", "{:.4f}"),
    ("ssim_vs_true_morph", "SSIM vs true", "{:.3f}"), ("realism_pixel", "realism px", "{:.4f}"),
    ("realism_ssim", "realism 1-SSIM", "{:.3f}"), ("path_deviation", "path dev.", "{:.3f}"), ("step_cv", "step CV", "{:.2f}"),
)

# Rows whose run name no longer says which model they measured. In records written before
# 2026-12-02, ``--model default=shipped`` loaded the default model of the time: the previous default
# model, since replaced. The records keep the name they were written with; the tables say which model.
PREVIOUS_DEFAULT = "first default model (sha256 77fa5515fe58)"
RELABEL = {("small_faces_95min", "shipped"): PREVIOUS_DEFAULT}
NOTES = {
    "small_faces_95min": "(`default` in this command was the first default model, the file shipped until"
    " 2026-12-02: `small` in its legacy form, 3,000 steps, sha256 77fa5515fe588d92...; it is not the"
    " default model shipped now.)\n",
}

HEADER = """# Recipe results

One table per group of runs trained side by side for the same wall-clock budget (`--max-time`)
on the same machine, evaluated on held-out images by `benchmarks/interpolation_quality.py`
(middle morph levels 0.3-0.7; its docstring defines every column). Written by
`python scripts/write_recipe_results.py` from `docs/records/recipe_*.json`; do not edit by hand.

- *recon SSIM*: reconstructions of 200 held-out images (1 for the cross-fade, which has none).
- *pixel err*: mean absolute pixel error against the true morph.
- *realism px / 1-SSIM*: distance of the middle frames to the nearest face (faces only).
- *path dev.*: how far the estimated face parameters of the middle frames stray from the straight
  line between the endpoints, in fractions of the parameters' ranges (faces only).
- *step CV*: unevenness of the steps in face parameters (faces only).
"""


def cell(row, key, form, name=""):
    value = row.get(key)
    if key == "method":
        value = RELABEL.get((name, value), value)
    if value is None:
        return ""
    return form.format(value) if isinstance(value, (int, float)) else str(value)


def main():
    parts = [HEADER]
    for path in sorted(glob.glob(os.path.join(RECORDS, "recipe_*.json"))):
        with open(path) as stream:
            record = json.load(stream)
        rows = record["rows"]
        columns = [c for c in COLUMNS if any(row.get(c[0]) is not None for row in rows)]
        name = os.path.basename(path)[len("recipe_"):-len(".json")]
        parts.append(f"## {name}\n\n`{record['command']}` ({record['date_utc']}, {record['machine']})\n")
        if name in NOTES:
            parts.append(NOTES[name])
        parts.append("| " + " | ".join(title for _, title, _ in columns) + " |")
        parts.append("|" + "---|" * len(columns))
        for row in rows:
            parts.append("| " + " | ".join(cell(row, key, form, name) for key, _, form in columns) + " |")
        parts.append("")
    with open(OUT, "w") as stream:
        stream.write("\n".join(parts))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
