"""Write docs/network_candidates.md from the records of benchmarks/network_candidates.py.

    python scripts/write_network_table.py

Reads ``docs/records/network_candidates_speed.json`` (the ``speed`` sub-command),
``docs/records/network_candidates.json`` (``evaluate``) and any later ``evaluate`` records
``docs/records/network_candidates_quality_*.json`` (runs made since, each its own table: a budget
measured twice shows how much the figures vary from run to run); do not edit the page by hand.
"""

import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS = os.path.join(ROOT, "docs", "records")
PAGE = os.path.join(ROOT, "docs", "network_candidates.md")

INTRODUCTION = """\
# Candidate 64 px networks, by quality per CPU budget

Which network the 64 px default should be is a question of what quality a CPU-hour buys. Each
candidate is the `small` preset (the reference's topology at width 16) with some sizes changed;
`benchmarks/network_candidates.py` defines them, measures their speed side by side in one process
(interleaved rounds, so the machine's load affects them alike), trains each with the gaia-stim
recipe on the default model's 20,000 training faces until it has used a fixed CPU budget (one
thread, one candidate per core), and measures held-out quality. Written by
`python scripts/write_network_table.py` from `docs/records/network_candidates*.json`; do not edit
by hand.

- *G / D GFLOP*: one image's forward pass (G: encode and decode; D: one pass); FLOPs are twice the
  multiply-adds.
- *warm-up / GAIA img/s*: training images per second of a plain-autoencoder step and of a GAIA step
  (batch 16), medians.
- *recon SSIM*: reconstructions of 200 held-out faces (seed 12345).
- *ceiling >= 0.7*: of the 16 face parameters, how many keep at least 0.7 of a true +-0.25 change
  through encode -> decode (`benchmarks/feature_ceiling.py`, 6 held-out faces); *median*: the
  median of the 16 gains.
"""


def read(name):
    path = os.path.join(RECORDS, name)
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        return json.load(stream)


def main():
    lines = [INTRODUCTION]
    speed = read("network_candidates_speed.json")
    if speed:
        lines += ["## Speed", "", f"`{speed['command']}` ({speed['date_utc']}, {speed['machine']})", "",
                  "| candidate | what changes | G params | D params | G GFLOP | D GFLOP | warm-up img/s | GAIA img/s"
                  " | threads | load |", "|---" * 10 + "|"]
        for row in speed["rows"]:
            lines.append(
                f"| {row['candidate']} | {row['change']} | {row['g_parameters'] / 1e6:.2f} M | {row['d_parameters'] / 1e6:.2f} M"
                f" | {row['g_gflop']:.3f} | {row['d_gflop']:.3f} | {row['warm-up_images_per_s']:.1f}"
                f" | {row['gaia_images_per_s']:.1f} | {row['threads']} | {row['load_1m']} |")
        lines.append("")
    later = sorted(os.path.basename(path) for path in glob.glob(os.path.join(RECORDS, "network_candidates_quality_*.json")))
    for index, name in enumerate(["network_candidates.json", *later]):
        quality = read(name)
        if not quality:
            continue
        title = "## Quality after fixed CPU budgets" if index == 0 else f"### A later run (`docs/records/{name}`)"
        lines += [title, "", f"`{quality['command']}` ({quality['date_utc']}, {quality['machine']})", "",
                  "| candidate | CPU-minutes | steps | warm-up ended | recon SSIM | recon MAE | ceiling >= 0.7 | median"
                  " | threads | load at the end |", "|---" * 10 + "|"]
        for row in sorted(quality["rows"], key=lambda row: (row["cpu_minutes"], row["candidate"])):
            lines.append(
                f"| {row['candidate']} | {row['cpu_minutes']} | {row['steps']} | {row['warmup_ended']}"
                f" | {row['recon_ssim']:.4f} | {row['recon_mae']:.4f} | {row['ceiling_at_least_0.7']}/16"
                f" | {row['ceiling_median']:.3f} | {row['threads']} | {row['load_1m']} |")
        lines.append("")
    lines += ["What the table says, and what the default model uses, is in docs/training.md (\"The 64 px network\").", ""]
    with open(PAGE, "w") as stream:
        stream.write("\n".join(lines))
    print(f"wrote {os.path.relpath(PAGE, ROOT)}")


if __name__ == "__main__":
    main()
