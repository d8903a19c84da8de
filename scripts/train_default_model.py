"""Train the default model as one resumable run, and its plain-autoencoder comparison.

    python scripts/train_default_model.py --work ../runs/default-v2 --threads 1 --max-time 7200  # start or continue (seconds)
    python scripts/train_default_model.py --work ../runs/default-v2 --arm ae --threads 1         # the AE comparison
    python scripts/train_default_model.py --work ../runs/default-v2 --pack docs/records/default_v2/warm_start.pt
    python scripts/train_default_model.py --work ../runs/default-v2 --from-pack docs/records/default_v2/warm_start.pt
    python scripts/train_default_model.py --work ../runs/default-v2 --arm ae --pack docs/records/default_v2/ae_arm.pt
    python scripts/train_default_model.py --work ../runs/default-v2 --arm ae --from-pack docs/records/default_v2/ae_arm.pt
    python scripts/train_default_model.py --work ../runs/default-v2 --arm late --from-pack docs/records/default_v2/ae_arm.pt
    python scripts/train_default_model.py --work ../runs/default-v2 --arm late --threads 1 --max-time 7200
    python scripts/train_default_model.py --work ../runs/default-v2 --export gaia_stim/data/default_small_faces.pt

The run (``WORK/gaia``) is ``gaia-stim train`` with the recipe below: first ``warmup_steps`` plain
autoencoder steps (G and D learn to reconstruct; cheap steps that buy the reconstruction quality),
then the GAIA objective of the gaia-stim recipe. Every call continues the run exactly where it
stopped (``--resume``), for at most ``--max-time``; a run can be stopped at any moment (Ctrl-C,
SIGTERM) and continued later. When the warm-up ends, its checkpoint is kept as
``WORK/warmup_end.pt``.

``--arm ae`` continues that warm-up checkpoint as a plain autoencoder (``WORK/ae``, at the warm-up's
learning rate) until it has used as much CPU time after the warm-up as the GAIA run has: GAIA and
its AE then differ only in what the same CPU-seconds after the same warm-up optimised. Where
``WORK`` holds no GAIA run (the arm trains alone on a machine of its own), it trains for
``--max-time``, and the two are paired afterwards by the cost of a step of each.

``--pack`` writes what must survive a lost machine (G, its weight average and D in float16, the
step and the settings: no optimiser state, about 12 MB); ``--from-pack`` starts the run again from
it on a machine that lost ``WORK`` (with fresh optimiser state, so not bit-identical to going on).
With ``--arm ae`` both act on the AE arm. ``--arm ae --from-pack`` given a pack of the GAIA run
branches a new AE arm from it: the pack's step and CPU time become the arm's starting point
(``WORK/ae/branch.json``), which stands in for the warm-up's last checkpoint when that was lost.
``--arm late`` is the GAIA objective after a longer warm-up: ``--arm late --from-pack`` given a pack
of the AE arm branches a GAIA run (``WORK/late``, the recipe's GAIA phase) from the arm's weights and
step, recording the branch point (``WORK/late/branch.json``, and ``late_branch`` in its own pack); it
trains for ``--max-time``. Its equal-CPU comparison is the AE arm itself, continued from the same
point: each call prints the CPU-seconds both have used since it.
``--export`` writes the arm's model file (``WORK/ARM/model.pt``) in float16, as the package ships it (``--export-from``:
a snapshot of it instead, the very file the progress rows measured).

Every step is a public command, so the recipe can be rerun by hand; docs/model_card.md records the
compute each model took.
"""

import argparse
import os
import sys
import time

RECIPE = {
    "n_faces": 20000,  # training faces, seed 0 (held-out evaluation faces use other seeds)
    "faces_seed": 0,
    "preset": "small",
    "recipe": "gaia-stim",
    "batch_size": 16,
    "warmup_steps": 12000,  # plain-autoencoder steps before the GAIA objective, at warmup_lr
    "warmup_lr": 1e-3,
    # the run's warm-up was trained with L1 alone: the recipe's cross-entropy term on G's logits
    # came later, and a restarted run must repeat the same steps
    "warmup_bce": 0.0,
    "lr_max": 2e-4,  # the GAIA phase
    "seed": 0,
    "steps": 10**7,  # the run is bounded by time, not by a step count
}


def gaia_stim(arguments):
    """Run one gaia-stim command in this process; a stop (Ctrl-C, SIGTERM) or an error ends the
    script with the command's own one-line message and exit status, not a traceback."""
    import click

    from gaia_stim.cli import main

    try:
        main(arguments, standalone_mode=False)
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code)


def train_arguments(run, faces, threads, max_time, steps):
    arguments = [
        "train", "--data", faces, "--out", run, "--steps", str(steps), "--device", "cpu",
        "--log-every", "50", "--sample-every", "1000", "--checkpoint-every", "250",
    ]
    if threads:
        arguments += ["--threads", str(threads)]
    if max_time:
        arguments += ["--max-time", f"{max_time}s"]
    if os.path.exists(os.path.join(run, "checkpoint.pt")):
        return arguments + ["--resume"]
    return arguments + [
        "--recipe", RECIPE["recipe"], "--preset", RECIPE["preset"], "--batch-size", str(RECIPE["batch_size"]),
        "--seed", str(RECIPE["seed"]), "--warmup-steps", str(RECIPE["warmup_steps"]),
        "--warmup-lr", str(RECIPE["warmup_lr"]), "--warmup-bce", str(RECIPE["warmup_bce"]),
        "--lr-max", str(RECIPE["lr_max"]),
    ]


def read_state(run):
    from gaia_stim.model.trainer import Trainer

    return Trainer.read_checkpoint(run)


def train_gaia(work, faces, threads, max_time):
    """Continue the GAIA run for at most ``max_time`` seconds, keeping the warm-up's last checkpoint."""
    from gaia_stim.core.atomic import atomic_write

    run = os.path.join(work, "gaia")
    started = time.perf_counter()
    warmup_end = os.path.join(work, "warmup_end.pt")
    step = read_state(run)["step"] if os.path.exists(os.path.join(run, "checkpoint.pt")) else 0
    if step < RECIPE["warmup_steps"]:
        gaia_stim(train_arguments(run, faces, threads, max_time, RECIPE["warmup_steps"]))
        step = read_state(run)["step"]
    if step == RECIPE["warmup_steps"] and not os.path.exists(warmup_end):
        atomic_write(warmup_end, lambda stream: stream.write(open(os.path.join(run, "checkpoint.pt"), "rb").read()))
        print(f"kept the warm-up's last checkpoint (step {step}) as {warmup_end}")
    left = None if max_time is None else max_time - (time.perf_counter() - started)
    if step >= RECIPE["warmup_steps"] and (left is None or left > 60):
        gaia_stim(train_arguments(run, faces, threads, left, RECIPE["steps"]))


def ae_settings(settings):
    """The GAIA run's settings turned into its AE arm's: the AE ablation at the warm-up's learning rate."""
    return {**settings, "ablation": "ae", "lr_max": RECIPE["warmup_lr"], "alpha": RECIPE["warmup_lr"] / 2}


def gaia_settings(settings):
    """The AE arm's settings turned back into the recipe's GAIA phase (for the late arm)."""
    return {**settings, "ablation": "none", "lr_max": RECIPE["lr_max"], "alpha": RECIPE["lr_max"] / 2}


def read_branch(work, arm):
    import json

    with open(os.path.join(work, arm, "branch.json")) as stream:
        return json.load(stream)


def train_late(work, faces, threads, max_time):
    """Continue the late GAIA arm for ``max_time`` seconds; print its CPU time and the AE arm's since the branch."""
    run = os.path.join(work, "late")
    if not os.path.exists(os.path.join(run, "checkpoint.pt")):
        raise SystemExit(f"{run} holds no run: branch it from a pack of the AE arm with --arm late --from-pack")
    if not max_time:
        raise SystemExit("give --max-time: the late arm trains for a time budget")
    gaia_stim(train_arguments(run, faces, threads, max_time, RECIPE["steps"]))
    branch = read_branch(work, "late")
    late = read_state(run)
    report = f"the late arm has used {late['cpu_s'] - branch['cpu_s']:.0f} CPU-s after AE step {branch['step']}"
    if os.path.exists(os.path.join(work, "ae", "checkpoint.pt")):
        ae = read_state(os.path.join(work, "ae"))
        report += f", the AE arm {ae['cpu_s'] - branch['cpu_s']:.0f} (step {ae['step']})"
    print(report)


def ae_start(work):
    """Step and CPU-seconds where the AE arm left the GAIA run: its branch record, else the warm-up's end."""
    import torch

    if os.path.exists(os.path.join(work, "ae", "branch.json")):
        return read_branch(work, "ae")
    state = torch.load(os.path.join(work, "warmup_end.pt"), map_location="cpu", weights_only=True)
    return {"step": int(state["step"]), "cpu_s": float(state.get("cpu_s") or 0.0)}


def train_ae(work, faces, threads, max_time):
    """Continue the warm-up checkpoint as a plain autoencoder for the GAIA run's CPU time after it."""
    from gaia_stim.model import checkpoint

    run, warmup_end = os.path.join(work, "ae"), os.path.join(work, "warmup_end.pt")
    if not os.path.exists(os.path.join(run, "checkpoint.pt")):
        if not os.path.exists(warmup_end):
            raise SystemExit(f"{warmup_end} does not exist yet: the GAIA run has not finished its warm-up "
                             "(or branch the arm from a pack of it with --arm ae --from-pack)")
        state = checkpoint.read_file(warmup_end, checkpoint.CHECKPOINT_FORMAT)
        state["settings"] = ae_settings(state["settings"])
        os.makedirs(run, exist_ok=True)
        checkpoint.atomic_torch_save(state, os.path.join(run, "checkpoint.pt"))
    start, ae = ae_start(work), read_state(run)
    done = ae.get("cpu_s", 0.0) - start["cpu_s"]
    if not os.path.exists(os.path.join(work, "gaia", "checkpoint.pt")):
        if not max_time:
            raise SystemExit(f"{work} holds no GAIA run whose CPU time the AE arm could match; "
                             "give --max-time to train the arm alone")
        print(f"no GAIA run here: the AE trains for {max_time:.0f} s ({done:.0f} CPU-s since step {start['step']})")
        return gaia_stim(train_arguments(run, faces, threads, max_time, RECIPE["steps"]))
    target = read_state(os.path.join(work, "gaia")).get("cpu_s", 0.0) - start["cpu_s"]
    print(f"GAIA has used {target:.0f} CPU-s after step {start['step']}, the AE {done:.0f}")
    if done < target:
        budget = target - done if max_time is None else min(max_time, target - done)
        gaia_stim(train_arguments(run, faces, threads, budget, RECIPE["steps"]))


def write_pack(work, path, arm="gaia"):
    """G, G's weight average and D in float16, with the step and the settings (and the AE arm's
    branch point)."""
    import torch

    from gaia_stim.model.checkpoint import atomic_torch_save

    state = read_state(os.path.join(work, arm))

    def half(weights):
        return {name: t.half() if t.dtype == torch.float32 else t for name, t in weights.items()}

    pack = {key: state[key] for key in ("format", "format_version", "gaia_stim_version", "settings", "step",
                                        "elapsed_s", "cpu_s", "warmup_ended") if key in state}
    for key in ("generator", "generator_ema", "discriminator"):
        if key in state:
            pack[key] = half(state[key])
    pack["format"] = "gaia-stim-warm-start"
    if arm == "ae":
        pack["ae_branch"] = ae_start(work)
    if arm == "late":
        pack["late_branch"] = read_branch(work, "late")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_torch_save(pack, path)
    print(f"wrote {path} ({arm} run, step {pack['step']})")


def from_pack(work, faces, path, arm="gaia"):
    """A new run in WORK/ARM from a pack: its weights and step, fresh optimiser state. A GAIA pack
    given for the AE arm branches the arm from it, and an AE pack given for the late arm branches a
    GAIA run from it; both record the branch point."""
    import hashlib
    import json

    import torch

    from gaia_stim.core.atomic import atomic_write
    from gaia_stim.model.data import load_image_folder
    from gaia_stim.model.trainer import Trainer

    run = os.path.join(work, arm)
    if os.path.exists(os.path.join(run, "checkpoint.pt")):
        raise SystemExit(f"{run} already holds a run; continue it instead")
    pack = torch.load(path, map_location="cpu", weights_only=True)
    settings = pack["settings"]
    kind = "late" if "late_branch" in pack else "ae" if settings["ablation"] == "ae" else "gaia"
    branch = pack.get(f"{arm}_branch")
    if (arm, kind) in (("ae", "gaia"), ("late", "ae")):  # a new branch
        with open(path, "rb") as stream:
            digest = hashlib.sha256(stream.read()).hexdigest()
        branch = {"step": int(pack["step"]), "cpu_s": float(pack.get("cpu_s") or 0.0),
                  "pack": os.path.basename(path), "pack_sha256": digest}
        settings = ae_settings(settings) if arm == "ae" else gaia_settings(settings)
    elif arm != kind:
        starts = {"gaia": "of the GAIA run; start it without --arm", "ae": "of the AE arm; start it with --arm ae",
                  "late": "of the late arm; start it with --arm late"}
        hint = ", or branch the late arm from the AE arm's pack" if (arm, kind) == ("late", "gaia") else ""
        raise SystemExit(f"{path} is a pack {starts[kind]}{hint}")
    images, _ = load_image_folder(faces, settings["config"]["image_size"], settings["config"]["channels"])
    trainer = Trainer(run, images, {**settings, "data": os.path.abspath(faces)}, device="cpu")
    trainer.generator.load_state_dict({k: v.float() for k, v in pack["generator"].items()})
    trainer.discriminator.load_state_dict({k: v.float() for k, v in pack["discriminator"].items()})
    if trainer.generator_ema is not None and "generator_ema" in pack:
        trainer.generator_ema.load_state_dict({k: v.float() for k, v in pack["generator_ema"].items()})
    trainer.step, trainer.elapsed_s = int(pack["step"]), float(pack["elapsed_s"])
    trainer.cpu_s, trainer.warmup_ended = float(pack.get("cpu_s") or 0.0), pack.get("warmup_ended")
    if (arm, kind) == ("late", "ae"):
        trainer.warmup_ended = trainer.step  # the AE arm's steps were the late arm's warm-up: GAIA from here
    os.makedirs(run, exist_ok=True)
    if arm in ("ae", "late"):
        atomic_write(os.path.join(run, "branch.json"),
                     lambda stream: stream.write(json.dumps(branch, indent=1).encode() + b"\n"))
    trainer.save()
    print(f"started {run} again from {path} at step {trainer.step}")


def export(model_path, destination):
    """The run's model file in float16, written atomically."""
    from gaia_stim.model import checkpoint

    payload = checkpoint.read_file(model_path, checkpoint.MODEL_FORMAT)
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    checkpoint.atomic_torch_save(checkpoint.half_precision(payload), destination)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=os.path.join("..", "runs", "default-v2"), help="folder of the faces and the runs")
    parser.add_argument("--arm", choices=["gaia", "ae", "late"], default="gaia",
                        help="the GAIA run, its AE arm, or GAIA branched late from the AE arm")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (1 beside other work on 2 cores)")
    parser.add_argument("--max-time", type=float, default=None, help="seconds of training in this call")
    parser.add_argument("--pack", default=None, help="write the warm-start pack of WORK/ARM to this path and stop")
    parser.add_argument("--from-pack", default=None, help="start WORK/ARM again from this pack (for ae: or branch it "
                        "from a pack of the GAIA run)")
    parser.add_argument("--export", default=None, help="write WORK/ARM's model in float16 to this path and stop")
    parser.add_argument("--export-from", default=None, metavar="MODEL",
                        help="with --export: write this model file (e.g. a measured snapshot of the run) instead")
    args = parser.parse_args(argv)

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    faces = os.path.join(args.work, "faces")
    if args.pack:
        return write_pack(args.work, args.pack, args.arm)
    if args.export:
        # the file measured is the file shipped: a snapshot, since WORK/ARM/model.pt moves on while it trains
        source = args.export_from or os.path.join(args.work, args.arm, "model.pt")
        export(source, args.export)
        return print(f"exported {source} to {args.export}")
    if not os.path.isdir(faces):
        gaia_stim(["faces", "--n", str(RECIPE["n_faces"]), "--size", "64", "--seed", str(RECIPE["faces_seed"]),
                   "--out", faces])
    if args.from_pack:
        return from_pack(args.work, faces, args.from_pack, args.arm)
    started = time.perf_counter()
    train = {"gaia": train_gaia, "ae": train_ae, "late": train_late}[args.arm]
    train(args.work, faces, args.threads, args.max_time)
    print(f"this call trained for {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
