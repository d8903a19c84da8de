"""``gaia-stim train``: train a GAIA model on a folder of images."""

import os

import click

from gaia_stim.cli._common import parse_duration, reports_errors

PRESET_NAMES = ("tiny", "small", "paper")
ABLATION_NAMES = ("none", "ae", "no-interp", "no-structure")
DEFAULT_BATCH = {"tiny": 32, "small": 32, "paper": 8}
# Options that define a run: with --resume they come from the run and may not be changed.
RUN_DEFINING = ("preset", "image_size", "channels", "batch_size", "seed", "ablation", "lr_max", "alpha", "warmup_steps", "warmup_lr")


@click.command("train")
@click.option("--data", type=click.Path(file_okay=False), help="Folder of training images (searched recursively).")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder to create (or continue with --resume).")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="small", show_default=True, help="Network size.")
@click.option("--image-size", type=int, default=None, help="Image size in pixels (multiple of 16); default: the preset's.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True, help="1 = grey, 3 = colour.")
@click.option("--batch-size", type=int, default=None, help="Even batch size; default 32 (tiny, small) or 8 (paper).")
@click.option("--steps", type=click.IntRange(min=1), default=10000, show_default=True, help="Total optimisation steps of the run (with --resume: until this total).")
@click.option("--max-time", default=None, help="Wall-clock budget of this call, e.g. 90s, 30m, 2h; stops early with a checkpoint.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of initialisation, batches and interpolants.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="auto uses CUDA when present.")
@click.option("--ablation", type=click.Choice(ABLATION_NAMES), default="none", show_default=True, help="Train a comparison model instead of full GAIA.")
@click.option("--lr-max", type=float, default=1e-4, show_default=True, help="Scale of the balanced learning rates.")
@click.option("--alpha", type=float, default=None, help="Weight of the structure loss; default lr_max / 2.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=0, show_default=True, help="First train G and D as plain autoencoders for this many steps, then GAIA.")
@click.option("--warmup-lr", type=float, default=None, help="Learning rate of the warm-up steps; default --lr-max.")
@click.option("--log-every", type=click.IntRange(min=1), default=10, show_default=True, help="Steps between rows of metrics.csv.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=500, show_default=True, help="Steps between checkpoints.")
@click.option("--sample-every", type=click.IntRange(min=1), default=500, show_default=True, help="Steps between sample sheets.")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where its last checkpoint left it.")
@click.pass_context
@reports_errors
def train(ctx, data, run_dir, preset, image_size, channels, batch_size, steps, max_time, seed, device, ablation,
          lr_max, alpha, warmup_steps, warmup_lr, log_every, checkpoint_every, sample_every, resume):
    """Train a GAIA model on a folder of images; writes RUN/model.pt, checkpoints, metrics and samples."""
    from gaia_stim.errors import InputError

    max_time_s = parse_duration(max_time) if max_time is not None else None
    if resume:
        explicit = [name for name in RUN_DEFINING if ctx.get_parameter_source(name).name == "COMMANDLINE"]
        if explicit:
            flags = ", ".join("--" + name.replace("_", "-") for name in explicit)
            raise InputError(f"--resume continues a run with its own settings; drop {flags}")
        _resume(run_dir, data, steps, max_time_s, device, log_every, checkpoint_every, sample_every)
        return
    if data is None:
        raise InputError("--data is required: the folder of training images")
    if os.path.exists(os.path.join(run_dir, "checkpoint.pt")):
        raise InputError(f"{run_dir!r} already holds a training run; add --resume to continue it or choose another --out")
    if os.path.isdir(run_dir) and os.listdir(run_dir):
        raise InputError(f"--out {run_dir!r} exists and is not empty; choose a new run folder")

    from gaia_stim.model.config import preset_config

    config = preset_config(preset, image_size=image_size, channels=int(channels))
    settings = {
        "preset": preset,
        "config": config,
        "batch_size": batch_size if batch_size is not None else DEFAULT_BATCH[preset],
        "seed": seed,
        "ablation": ablation,
        "lr_max": lr_max,
        "alpha": alpha if alpha is not None else lr_max / 2,
        "warmup_steps": warmup_steps,
        "warmup_lr": warmup_lr,
        "data": os.path.abspath(data),
    }
    images = _read_data(data, config.image_size, config.channels)
    from gaia_stim.model.trainer import Trainer, resolve_device

    os.makedirs(run_dir, exist_ok=True)
    trainer = Trainer(run_dir, images, settings, device=resolve_device(device))
    _run(trainer, steps, max_time_s, log_every, checkpoint_every, sample_every)


def _read_data(data, image_size, channels):
    from gaia_stim.model.data import load_image_folder

    images, paths = load_image_folder(data, image_size, channels, progress=True)
    click.echo(f"read {len(paths)} images from {data} at {image_size}x{image_size}x{channels}", err=True)
    return images


def _resume(run_dir, data, steps, max_time_s, device, log_every, checkpoint_every, sample_every):
    import json

    from gaia_stim.errors import InputError
    from gaia_stim.model.trainer import Trainer, resolve_device

    record_path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(record_path):
        raise InputError(f"--resume: {run_dir!r} is not a training run folder (no run.json)")
    with open(record_path) as stream:
        record = json.load(stream)
    data = data or record.get("data")
    config = record["config"]
    images = _read_data(data, config["image_size"], config["channels"])
    trainer = Trainer.resume(run_dir, images, device=resolve_device(device))
    if trainer.step >= steps:
        click.echo(f"{run_dir} is at step {trainer.step}, already at or past --steps {steps}; nothing to do")
        return
    click.echo(f"resuming {run_dir} at step {trainer.step}", err=True)
    _run(trainer, steps, max_time_s, log_every, checkpoint_every, sample_every)


def _run(trainer, steps, max_time_s, log_every, checkpoint_every, sample_every):
    try:
        row = trainer.train(
            steps, max_time_s=max_time_s, log_every=log_every,
            checkpoint_every=checkpoint_every, sample_every=sample_every,
        )
    except KeyboardInterrupt:
        click.echo(
            f"\ninterrupted at step {trainer.step}; checkpoint saved in {trainer.run_dir}."
            " Continue with the same command and --resume.",
            err=True,
        )
        raise SystemExit(130) from None
    why = "time budget reached" if trainer.stop_reason == "max-time" else "done"
    summary = f"{why}: step {trainer.step} of {steps}, {trainer.elapsed_s:.0f} s of training"
    if row is not None:
        summary += f", reconstruction L1 {row['reconstruction']:.4f}, {row['images_per_s']:.1f} images/s"
    click.echo(summary)
    click.echo(f"model: {os.path.join(trainer.run_dir, 'model.pt')}")
