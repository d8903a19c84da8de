"""``gaia-stim train``: train a GAIA model on a folder of images."""

import os

import click

from gaia_stim.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    SEED,
    THREADS,
    THREADS_HELP,
    CommandError,
    apply_threads,
    FiniteFloat,
    echo,
    parse_duration,
    reports_errors,
)
from gaia_stim.core.device import DEVICES
from gaia_stim.core.errors import InputError, Terminated
from gaia_stim.model.config import PRESETS, preset_config
from gaia_stim.model.recipes import ABLATIONS, DEFAULT_RECIPE, RECIPES, recipe_settings

# Choices in the order --help has always shown them: presets by size, the default recipe first.
PRESET_NAMES = sorted(PRESETS, key=lambda name: PRESETS[name].image_size)
RECIPE_NAMES = [DEFAULT_RECIPE, *(name for name in RECIPES if name != DEFAULT_RECIPE)]


@click.command("train")
@click.option("--data", type=click.Path(file_okay=False), help="Folder of training images (searched recursively), or a cache from gaia-stim prepare.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder to create (or continue with --resume).")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="small", show_default=True, help="Network size.")
@click.option("--image-size", type=click.IntRange(min=16, max=1024), default=None, help="Image size in pixels (multiple of 16); default: the preset's.")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True, help="1 = grey, 3 = colour.")
@click.option("--recipe", type=click.Choice(RECIPE_NAMES), default=DEFAULT_RECIPE, show_default=True, help="Training settings: gaia-stim's (warm-up, reconstruction term, weight averaging) or the reference's exact ones (paper); options below override single values.")
@click.option("--batch-size", type=click.IntRange(min=2, max=65536), default=None, help="Even batch size; default: the recipe's (16, or 8 for --recipe paper).")
@click.option("--steps", type=click.IntRange(min=1, max=10**12), default=10000, show_default=True, help="Total optimisation steps of the run (with --resume: until this total).")
@click.option("--max-time", "max_time_s", default=None, callback=lambda ctx, param, value: None if value is None else parse_duration(value), help="Wall-clock budget of this call, e.g. 90s, 30m, 2h; stops early with a checkpoint.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of initialisation, batches and interpolants.")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="auto uses CUDA when present.")
@click.option("--ablation", type=click.Choice(ABLATIONS), default="none", show_default=True, help="Train a comparison model instead of full GAIA.")
@click.option("--lr-max", type=FiniteFloat(0, 1, min_open=True), default=None, help="Scale of the balanced learning rates; default: the recipe's (2e-4, or 1e-4 for paper).")
@click.option("--alpha", type=FiniteFloat(0, 1e6), default=None, help="Weight of the structure loss; default lr_max / 2.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=None, help="First train G and D as plain autoencoders for this many steps, then GAIA; default: the recipe's (500, or 0 for paper).")
@click.option("--warmup-until", type=FiniteFloat(0, 1, max_open=True), default=None, help="End the warm-up, after --warmup-steps, only once G's reconstruction error on a probe of the data is at most this fraction of the best constant image's, the per-pixel median (0 = a fixed count of --warmup-steps); default: the recipe's (0.5, or 0 for paper).")
@click.option("--warmup-max-steps", type=click.IntRange(min=1), default=None, help="Longest warm-up with --warmup-until; default: the recipe's (20000).")
@click.option("--warmup-lr", type=FiniteFloat(0, 1, min_open=True), default=None, help="Learning rate of the warm-up steps; default: the recipe's (1e-3; --lr-max for paper).")
@click.option("--warmup-bce", type=FiniteFloat(0, 1e6), default=None, help="Weight of a cross-entropy term on G's output logits during the warm-up, which keeps G learning where its output sigmoid saturates (sparse images on a black background); 0 = L1 alone. Default: the recipe's (1, or 0 for paper).")
@click.option("--recon-weight", type=FiniteFloat(0, 1e6), default=None, help="Weight of G's direct reconstruction term |X - G(X)| (0 = the reference objective); default: the recipe's.")
@click.option("--ema-decay", type=FiniteFloat(0, 1, max_open=True), default=None, help="Export an exponential moving average of G's weights with this decay (0 = off); default: the recipe's.")
@click.option("--log-every", type=click.IntRange(min=1), default=10, show_default=True, help="Steps between rows of metrics.csv.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=500, show_default=True, help="Steps between checkpoints.")
@click.option("--sample-every", type=click.IntRange(min=1), default=500, show_default=True, help="Steps between sample sheets.")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where its last checkpoint left it.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True, help="bf16: run the networks under bfloat16 autocast (losses and weights stay float32).")
@click.option("--channels-last/--no-channels-last", default=None, help="Weights and batches in the NHWC memory layout; default: on a CPU (measured faster there), off on a GPU.")
@click.option("--compile", "compile_networks", is_flag=True, help="torch.compile the networks (minutes of compilation first).")
@click.option("--threads", type=THREADS, default=None, help=THREADS_HELP)
@click.pass_context
@reports_errors
def train(ctx, data, run_dir, preset, image_size, channels, recipe, batch_size, steps, max_time_s, seed, device,
          ablation, lr_max, alpha, warmup_steps, warmup_until, warmup_max_steps, warmup_lr, warmup_bce, recon_weight,
          ema_decay, log_every, checkpoint_every, sample_every, resume, precision, channels_last, compile_networks, threads):
    """Train a GAIA model on a folder of images; writes RUN/model.pt, checkpoints, metrics and samples.

    Started by torchrun, the processes train one run together (--batch-size is the global batch).
    """

    given = {
        name: value for name, value in dict(
            preset=preset, image_size=image_size, channels=int(channels), recipe=recipe, batch_size=batch_size,
            seed=seed, ablation=ablation, lr_max=lr_max, alpha=alpha, warmup_steps=warmup_steps,
            warmup_until=warmup_until, warmup_max_steps=warmup_max_steps, warmup_lr=warmup_lr,
            warmup_bce=warmup_bce, recon_weight=recon_weight, ema_decay=ema_decay,
        ).items()
        if ctx.get_parameter_source(name).name == "COMMANDLINE"
    }
    if not resume and data is None:
        raise InputError("--data is required: the folder of training images")
    apply_threads(threads)
    from gaia_stim.model.distributed import launch_from_environment, shut_down
    from gaia_stim.model.performance import Performance
    from gaia_stim.core.device import resolve_device

    performance = Performance(precision=precision, channels_last=channels_last, compile=compile_networks)

    device = resolve_device(device)
    world = launch_from_environment(device)
    if world.is_distributed and device == "cuda":
        device = f"cuda:{world.local_rank}"
    try:
        schedule = (steps, max_time_s, log_every, checkpoint_every, sample_every)
        if resume:
            _resume(run_dir, data, given, (device, world, performance), schedule)
        else:
            options = dict(
                batch_size=batch_size, lr_max=lr_max, alpha=alpha, warmup_steps=warmup_steps,
                warmup_until=warmup_until, warmup_max_steps=warmup_max_steps, warmup_lr=warmup_lr,
                warmup_bce=warmup_bce, recon_weight=recon_weight, ema_decay=ema_decay,
            )
            _start(run_dir, data, (preset, image_size, channels, seed, ablation), (recipe, options),
                   (device, world, performance), schedule)
    finally:
        shut_down(world)


def _start(run_dir, data, network, recipe, how, schedule):
    """A new run: ``network`` is (preset, image size, channels, seed, ablation), ``recipe`` (name, options given)."""
    preset, image_size, channels, seed, ablation = network
    recipe, options = recipe
    device, world, performance = how
    from gaia_stim.model.runs import check_new_run_folder, clear_unstarted_run

    check_new_run_folder(run_dir)
    world.barrier()  # every process has looked at --out before rank 0 writes there
    config = preset_config(preset, image_size=image_size, channels=int(channels))
    settings = {
        "preset": preset,
        "config": config,
        "seed": seed,
        "ablation": ablation,
        **recipe_settings(recipe, **options),
        "data": os.path.abspath(data),
    }
    images = _read_data(data, config.image_size, config.channels, world)
    from gaia_stim.model.trainer import Trainer

    # checks the settings against the data
    trainer = Trainer(run_dir, images, settings, device=device, world=world, performance=performance)
    with _lock(run_dir, world):
        if world.is_main:
            clear_unstarted_run(run_dir)
        _run(trainer, *schedule)


def _lock(run_dir, world):
    """The run folder's lock (rank 0 of a launch holds it for all): one process trains a run at a time."""
    import contextlib

    from gaia_stim.core.atomic import folder_lock

    return folder_lock(run_dir, "the run folder") if world.is_main else contextlib.nullcontext()


def _say(world):
    """echo on rank 0; the other processes of a torchrun launch stay quiet."""
    return echo if world.is_main else (lambda *args, **kwargs: None)


def _read_data(data, image_size, channels, world):
    from gaia_stim.model.cache import ImageCache, is_cache
    from gaia_stim.model.data import load_image_folder

    if is_cache(data):
        cache = ImageCache(data)
        cache.check_size(image_size, channels)
        _say(world)(f"reading batches of {len(cache)} prepared images from the cache {data}", err=True)
        return cache
    images, paths = load_image_folder(data, image_size, channels, progress=world.is_main)
    _say(world)(f"read {len(paths)} images from {data} at {image_size}x{image_size}x{channels}", err=True)
    return images


def _resume(run_dir, data, given, how, schedule):
    from gaia_stim.model.runs import check_run_to_resume

    world = how[1]
    check_run_to_resume(run_dir)  # before a lock file is left there
    with _lock(run_dir, world):
        _resume_locked(run_dir, data, given, how, schedule)


def _resume_locked(run_dir, data, given, how, schedule):
    from gaia_stim.model.trainer import Trainer

    device, world, performance = how
    steps = schedule[0]
    state = Trainer.read_checkpoint(run_dir)
    settings = state["settings"]
    _check_same_settings(settings, given)
    config = settings["config"]
    images = _read_data(data or settings.get("data"), config["image_size"], config["channels"], world)
    trainer = Trainer.resume(run_dir, images, device=device, state=state, world=world, performance=performance)
    del state
    if trainer.step >= steps:
        _say(world)(f"{run_dir} is at step {trainer.step}, already at or past --steps {steps}; nothing to do")
        return
    _say(world)(f"resuming {run_dir} at step {trainer.step}", err=True)
    _run(trainer, *schedule)


def _check_same_settings(settings, given):
    """With --resume, options that define the run may be repeated, but not changed."""
    config = settings.get("config", {})
    stored = dict(settings, image_size=config.get("image_size"), channels=config.get("channels"))
    changed = []
    for name, value in given.items():
        old = stored.get(name)
        if old != value:
            changed.append(f"--{name.replace('_', '-')} {value} (the run has {old})")
    if changed:
        raise InputError(
            "--resume continues a run with its own settings; these differ from it: " + "; ".join(changed)
            + ". Drop them, or start a new run in another --out"
        )


def _run(trainer, steps, max_time_s, log_every, checkpoint_every, sample_every):
    try:
        row = trainer.train(
            steps, max_time_s=max_time_s, log_every=log_every,
            checkpoint_every=checkpoint_every, sample_every=sample_every,
        )
    except KeyboardInterrupt as interruption:
        what = "stopped by SIGTERM" if isinstance(interruption, Terminated) else "interrupted"
        if trainer.stop_reason == "interrupted":
            saved = f"checkpoint saved at step {trainer.step}"
        else:
            saved = f"stopped at once; the last checkpoint (step {trainer.saved_step}) is intact"
        raise CommandError(
            f"{what}: {saved} in {trainer.run_dir}. Continue with the same command and --resume,"
            f" e.g. gaia-stim train --out {trainer.run_dir} --steps {steps} --resume",
            EXIT_TERMINATED if isinstance(interruption, Terminated) else EXIT_INTERRUPTED,
        ) from None
    why = "time budget reached" if trainer.stop_reason == "max-time" else "done"
    summary = f"{why}: step {trainer.step} of {steps}, {trainer.elapsed_s:.0f} s of training"
    if row is not None:
        summary += f", reconstruction L1 {row['reconstruction']:.4f}, {row['images_per_s']:.1f} images/s"
    if trainer.world.is_distributed:
        summary += f" on {trainer.world.world_size} processes"
    say = _say(trainer.world)
    say(summary)
    say(f"model: {os.path.join(trainer.run_dir, 'model.pt')}")
