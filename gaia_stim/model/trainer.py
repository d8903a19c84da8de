"""The trainer: owns networks, optimisers, data, step counter and the run folder.

A run folder holds::

    run.json          settings of the run (preset, config, seed, batch size, data, ...)
    checkpoint.pt     everything to continue exactly (both networks and optimisers, step)
    model.pt          the generator, loadable by ``gaia_stim.load_model(run_folder)``
    metrics.csv       one row per logged step: every loss term, p_fake, p_i, both learning
                      rates, images/s
    samples/step_NNNNNNN.png   inputs, reconstructions and interpolations

Reproducibility: batches and interpolation coefficients are functions of
``(seed, step)`` alone, so a run continued from a checkpoint draws exactly what an
uninterrupted run would have; on the CPU a run of 2N steps and a run of N steps
continued for N more give bit-identical weights.

Interruptions: Ctrl-C (SIGINT) and SIGTERM during :meth:`Trainer.train` are deferred to the
end of the step in progress, so a checkpoint always holds both networks, both optimisers and
the step counter of the same moment; the run then saves and raises KeyboardInterrupt
(:class:`~gaia_stim.core.errors.Terminated` for SIGTERM). A second signal stops at once without
saving: the last checkpoint stays as it was. The first checkpoint is written before the
first step, so any run folder can be continued with ``--resume``. A loss or gradient that is
NaN or infinite stops the run before it is applied (:class:`~gaia_stim.core.errors.TrainingDiverged`,
naming the step); nothing is saved, so the last checkpoint is a good one.

Data-parallel training (torchrun): with a :class:`~gaia_stim.model.distributed.World` of
several processes, each trains on its shard of the global batch, the losses are computed
on the whole batch and gradients summed over processes
(:mod:`gaia_stim.model.distributed`); only rank 0 writes the run folder.
"""

import contextlib
import copy
import csv
import hashlib
import json
import logging
import math
import os
import signal
import threading
import time

import numpy as np
import torch

from gaia_stim._version import __version__
from gaia_stim.core.errors import InputError, ModelFileError, Terminated, TrainingDiverged
from gaia_stim.model import checkpoint as checkpoints
from gaia_stim.core.atomic import atomic_write
from gaia_stim.core.progress import progress_bar
from gaia_stim.model.cache import ImageCache
from gaia_stim.model.config import ModelConfig
from gaia_stim.model.distributed import SINGLE_PROCESS
from gaia_stim.model.losses import interpolation_coefficients
from gaia_stim.model.networks import Discriminator, Generator
from gaia_stim.model.objective import gaia_losses
from gaia_stim.model.performance import Performance
from gaia_stim.model.recipes import ABLATIONS
from gaia_stim.model.sample_sheets import write_sample_sheet

__all__ = [
    "Trainer", "TrainingSettings", "METRIC_COLUMNS", "data_fingerprint", "deferred_interrupts",
]

logger = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "step", "epoch", "elapsed_s", "cpu_s", "load_1m", "images_per_s",
    "loss_x", "loss_gx", "loss_gi", "loss_fake", "loss_dist", "loss_d", "loss_g", "reconstruction",
    "p_fake", "p_i", "lr_d", "lr_g",
)


class _StopRequest:
    """The signal that asked a training loop to stop, if any."""

    def __init__(self):
        self.signal = None

    @property
    def requested(self):
        return self.signal is not None

    def exception(self):
        return Terminated() if self.signal == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def deferred_interrupts():
    """SIGINT and SIGTERM only set a flag inside this block; a second one raises at once.

    Yields a :class:`_StopRequest` to poll between steps. Outside the main thread (where
    Python cannot install handlers) signals keep their usual behaviour.
    """
    request = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.requested:  # asked twice: stop now, without saving
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        request.signal = signum
        logger.warning("stopping after the current step (signal %d); send it again to stop at once", signum)

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def data_fingerprint(images):
    """sha256 of a uint8 data array (its shape included): a resumed run must see the same data.

    An :class:`~gaia_stim.model.cache.ImageCache` carries the fingerprint of its array.
    """
    if isinstance(images, ImageCache):
        return images.fingerprint
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


_CHECKPOINT_KEYS = ("settings", "step", "elapsed_s", "generator", "discriminator", "optimizer_g", "optimizer_d")

# The warm-up's end criterion is checked every WARMUP_CHECK_EVERY steps on WARMUP_PROBE_SIZE training
# images drawn once from the run's seed.
WARMUP_CHECK_EVERY = 100
WARMUP_PROBE_SIZE = 64


def load_average():
    """The 1-minute load average of the machine (NaN where the OS does not report one)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return float("nan")


class TrainingSettings(dict):
    """The settings that define a run (stored in run.json and in every checkpoint)."""

    REQUIRED = ("preset", "config", "batch_size", "seed", "ablation", "lr_max", "alpha")


def _step_seed(seed, step, stream):
    """A 63-bit seed for (run seed, step, stream): independent of anything stateful."""
    digest = hashlib.sha256(f"{seed}:{step}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


# Values checked before a step is applied (NaN in any of them would poison the weights).
_CHECKED_TERMS = {"loss_g": "L_G", "loss_d": "L_D", "reconstruction": "the reconstruction error",
                  "lr_g": "lr_G", "lr_d": "lr_D"}


def _gradients_finite(module):
    gradients = [p.grad for p in module.parameters() if p.grad is not None]
    return not gradients or bool(torch.stack([torch.isfinite(g).all() for g in gradients]).all())


class Trainer:
    """Train a GAIA model (or an ablation) on an in-memory uint8 image array.

    Parameters
    ----------
    run_dir : path
        The run folder (created if missing).
    images : ndarray of shape (N, S, S, C), uint8, or ImageCache
        Training images at the configuration's size and channels (a cache is read a batch at a time).
    settings : dict
        ``preset`` (str), ``config`` (ModelConfig or its dict), ``batch_size`` (even),
        ``seed``, ``ablation``, ``lr_max``, ``alpha``, and optionally ``warmup_steps``
        (plain-autoencoder steps first, see :mod:`gaia_stim.model.objective`), ``warmup_until``
        (with it, ``warmup_steps`` is the least number of warm-up steps: the warm-up goes on until
        G's reconstruction error on a fixed probe of training images is at most ``warmup_until``
        times that of the best constant image, :meth:`probe_ratio`, checked every
        ``WARMUP_CHECK_EVERY`` steps, or until ``warmup_max_steps``), ``warmup_lr``
        (their learning rate; default ``lr_max``), ``warmup_bce`` (weight of the warm-up's
        cross-entropy term on G's logits, see :mod:`gaia_stim.model.objective`; default 0),
        ``recon_weight`` (G's direct reconstruction
        term, see :mod:`gaia_stim.model.objective`; default 0), ``ema_decay`` (keep an
        exponential moving average of G's weights with this decay and export it as the model;
        default 0, off), ``recipe`` (the name of the recipe the settings came from) and ``data``
        (where the images came from).
    device : {"cpu", "cuda"} or a torch.device
    world : gaia_stim.model.distributed.World, optional
        This process's place in a data-parallel launch; ``batch_size`` is the global batch.
    performance : gaia_stim.model.performance.Performance, optional
        Mixed precision, channels-last and compilation switches (by default channels-last on a CPU only).
    """

    def __init__(self, run_dir, images, settings, device="cpu", world=SINGLE_PROCESS, performance=Performance()):
        self.run_dir = os.fspath(run_dir)
        self.settings = dict(settings)
        config = self.settings["config"]
        self.config = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
        self.settings["config"] = self.config.to_dict()
        self.world = world
        self._validate(images)
        self.images = images
        self.settings.setdefault("data_fingerprint", data_fingerprint(images))
        self.settings.setdefault("n_images", int(images.shape[0]))
        self.device = torch.device(device)
        self.batch_size = int(self.settings["batch_size"])
        self.seed = int(self.settings["seed"])
        self.ablation = self.settings["ablation"]
        self._shard = world.shard(self.batch_size)  # this process's positions in each global batch

        torch.manual_seed(self.seed)  # weight initialisation
        self.generator = Generator(self.config).to(self.device)
        self.discriminator = Discriminator(self.config).to(self.device)
        self.ema_decay = float(self.settings.get("ema_decay") or 0.0)
        self.generator_ema = None
        if self.ema_decay:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.performance = performance.resolved(self.device)
        self.performance.prepare_networks(self.generator, self.discriminator)
        lr = float(self.settings["lr_max"])
        # Adam as the reference (eps 1e-8, default betas); learning rates are set every step.
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=lr, eps=1e-8)
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, eps=1e-8)
        self.step = 0
        self.elapsed_s = 0.0
        self.cpu_s = 0.0  # CPU time of this process over the run's steps (every thread counted)
        self.warmup_ended = None  # the step at which a criterion-ended warm-up handed over to GAIA
        self.warmup_ratio = None  # the last criterion check: G's probe error over the constant image's
        self._probe = None
        self.steps_per_epoch = images.shape[0] // self.batch_size
        self.stop_reason = None
        self.saved_step = None  # the step of the last checkpoint written or read
        self._sample_indices = np.random.default_rng([self.seed, 1]).choice(
            images.shape[0], size=min(8, images.shape[0]), replace=False
        )

    def _validate(self, images):
        if not isinstance(images, (np.ndarray, ImageCache)) or images.dtype != np.uint8 or len(images.shape) != 4:
            raise InputError("training images must be a uint8 array of shape (N, S, S, C) or an ImageCache")
        expected = (self.config.image_size, self.config.image_size, self.config.channels)
        if images.shape[1:] != expected:
            raise InputError(f"training images have shape {images.shape[1:]}, the model needs {expected}")
        batch = int(self.settings["batch_size"])
        if batch < 2 or batch % 2:
            raise InputError(
                f"--batch-size must be even and at least 2 (interpolation pairs halves of a batch); got {batch}"
            )
        self.world.shard(batch)  # refuses a batch the processes cannot share
        if images.shape[0] < batch:
            raise InputError(
                f"the data has {images.shape[0]} images, fewer than one batch of {batch};"
                " add images or lower --batch-size"
            )
        if self.settings["ablation"] not in ABLATIONS:
            raise InputError(f"unknown ablation {self.settings['ablation']!r}; choose one of {', '.join(ABLATIONS)}")

    # ------------------------------------------------------------------ data
    def batch_indices(self, step):
        """The image indices of ``step``: epoch-wise permutations seeded by (seed, epoch)."""
        epoch, position = divmod(step, self.steps_per_epoch)
        permutation = np.random.default_rng([self.seed, 0, epoch]).permutation(self.images.shape[0])
        return permutation[position * self.batch_size : (position + 1) * self.batch_size]

    def local_batch(self, step):
        """This process's images of ``step`` (all of them in one process), as a tensor."""
        x = self.to_tensor(self.images[self.batch_indices(step)[self._shard]])
        return self.performance.prepare_batch(x)

    def to_tensor(self, images):
        """uint8 (B, S, S, C) -> float (B, C, S, S) in [0, 1] on the device."""
        tensor = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        return tensor.permute(0, 3, 1, 2).float().div_(255.0)

    # ------------------------------------------------------------------ one step
    def _in_warmup(self):
        if self.step < int(self.settings.get("warmup_steps") or 0):
            return True
        if not self.settings.get("warmup_until") or self.warmup_ended is not None:
            return False
        return self.step < int(self.settings.get("warmup_max_steps") or 2**62)

    @torch.no_grad()
    def probe_ratio(self):
        """G's mean absolute reconstruction error on the warm-up probe over that of the best constant image.

        Under an absolute (L1) error the best constant image is the per-pixel median of the probe;
        it is what an autoencoder first learns to output (the background of sparse images, the
        average face of a face set). 1 means G reconstructs no better than that constant, 0 is a
        perfect reconstruction. The probe is ``WARMUP_PROBE_SIZE`` training images drawn from the
        run's seed, so the ratio depends on the weights alone.
        """
        if self._probe is None:
            count = min(WARMUP_PROBE_SIZE, self.images.shape[0])
            indices = np.sort(np.random.default_rng([self.seed, 2]).choice(self.images.shape[0], count, replace=False))
            self._probe = self.to_tensor(self.images[indices])
        x = self._probe
        baseline = (x - x.median(dim=0, keepdim=True).values).abs().mean().item()
        error = (self.generator(self.performance.prepare_batch(x)).float() - x).abs().mean().item()
        return error / max(baseline, 1e-12)

    def _check_warmup_end(self):
        """After a step: end a criterion warm-up when G reconstructs clearly better than a constant image."""
        if not self.settings.get("warmup_until") or self.warmup_ended is not None:
            return
        minimum = int(self.settings.get("warmup_steps") or 0)
        maximum = int(self.settings.get("warmup_max_steps") or 2**62)
        if self.step >= maximum:
            self.warmup_ended = self.step
        elif self.step >= minimum and self.step % WARMUP_CHECK_EVERY == 0:
            self.warmup_ratio = self.probe_ratio()
            reached = self.warmup_ratio <= float(self.settings["warmup_until"])
            # every process of a launch decides alike (their weights are the same after each step)
            if self.world.maximum([float(reached)], self.device)[0]:
                self.warmup_ended = self.step
        if self.warmup_ended is not None:
            ratio = "" if self.warmup_ratio is None else f" (reconstruction error {self.warmup_ratio:.3f} of the constant image's)"
            logger.info("warm-up ended at step %d%s; GAIA from here", self.step, ratio)

    def _lr_max(self):
        warmup_lr = self.settings.get("warmup_lr")
        if self._in_warmup() and warmup_lr is not None:
            return float(warmup_lr)
        return float(self.settings["lr_max"])

    def train_step(self, x):
        """One simultaneous update of G and D on the batch ``x``; returns the metrics."""
        source = torch.Generator().manual_seed(_step_seed(self.seed, self.step, "interpolation"))
        coefficients = interpolation_coefficients(self.batch_size, source)[self._shard]
        with self.performance.autocast(self.device):
            terms = gaia_losses(
                self.generator, self.discriminator, x,
                ablation=self.ablation, alpha=float(self.settings["alpha"]),
                lr_max=self._lr_max(), coefficients=coefficients, warmup=self._in_warmup(),
                warmup_bce=float(self.settings.get("warmup_bce") or 0.0),  # absent from older runs: 0
                recon_weight=float(self.settings.get("recon_weight") or 0.0), gather=self.world.gather,
            )
        self._refuse_non_finite({
            label: math.isfinite(terms[name].item() if torch.is_tensor(terms[name]) else float(terms[name]))
            for name, label in _CHECKED_TERMS.items() if terms[name] is not None
        })
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_d.zero_grad(set_to_none=True)
        if terms["loss_d"] is not None:
            # Both losses come from one graph; each network is updated by its own loss only.
            terms["loss_d"].backward(inputs=list(self.discriminator.parameters()), retain_graph=True)
        terms["loss_g"].backward(inputs=list(self.generator.parameters()))
        self.world.sum_gradients(self.generator)
        self.world.sum_gradients(self.discriminator)
        self._refuse_non_finite({
            "the gradient of L_G": _gradients_finite(self.generator),
            "the gradient of L_D": _gradients_finite(self.discriminator),
        })
        for group in self.optimizer_g.param_groups:
            group["lr"] = terms["lr_g"]
        self.optimizer_g.step()
        self._update_ema()
        if terms["loss_d"] is not None:
            for group in self.optimizer_d.param_groups:
                group["lr"] = terms["lr_d"]
            self.optimizer_d.step()
        self.step += 1
        return terms

    @torch.no_grad()
    def _update_ema(self):
        """Move the averaged generator towards the current one.

        The decay ramps up as ``min(decay, (1 + step) / (10 + step))`` so that early in a run the
        average is not dominated by the random initialisation.
        """
        if self.generator_ema is None:
            return
        decay = min(self.ema_decay, (1.0 + self.step) / (10.0 + self.step))
        for averaged, current in zip(self.generator_ema.parameters(), self.generator.parameters()):
            averaged.lerp_(current, 1.0 - decay)
        for averaged, current in zip(self.generator_ema.buffers(), self.generator.buffers()):
            averaged.copy_(current)

    @property
    def exported_generator(self):
        """The generator that model.pt and the sample sheets show: the average when there is one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def _refuse_non_finite(self, finite):
        """Raise TrainingDiverged, before anything is updated, unless every ``{name: finite}`` is True."""
        bad = [name for name, ok in finite.items() if not ok]
        if not bad:
            return
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_d.zero_grad(set_to_none=True)
        saved = (
            f"the last checkpoint (step {self.saved_step}) is intact"
            if self.saved_step is not None else "no checkpoint was written"
        )
        raise TrainingDiverged(
            f"training diverged at step {self.step + 1}: {', '.join(bad)} became NaN or infinite"
            f" (the step was not applied; {saved}). Lower --lr-max, or check the data for"
            " broken or identical images"
        )

    # ------------------------------------------------------------------ loop
    def train(self, steps, max_time_s=None, log_every=10, checkpoint_every=500, sample_every=500, progress=None):
        """Train until ``steps`` total steps or ``max_time_s`` seconds of this call.

        Checkpoints are written before the first step, every ``checkpoint_every`` steps, at
        the end, and when SIGINT or SIGTERM asks the run to stop (after the step in progress;
        KeyboardInterrupt or :class:`~gaia_stim.core.errors.Terminated` is then raised). Returns the
        last metrics row. In a data-parallel launch all processes stop at the same step (a signal
        or the time budget of any of them stops all), and only rank 0 writes.
        """
        writes = self.world.is_main
        if writes:
            os.makedirs(os.path.join(self.run_dir, "samples"), exist_ok=True)
            self._write_run_json()
            self._truncate_metrics()
        # on stderr when it is a terminal (and progress is not False), from one process only
        bar = progress_bar(total=steps, description="training", unit="step", enabled=progress is not False and writes,
                           initial=self.step)
        started = time.perf_counter()
        cpu_started = time.process_time()
        interval_start, interval_images = started, 0
        elapsed_before, cpu_before = self.elapsed_s, self.cpu_s
        last_row = None
        stop_reason = "steps"
        with deferred_interrupts() as stop:
            try:
                if self.saved_step is None:
                    self.save()  # a run that stops before its first checkpoint can still be resumed
                if self.step == 0 and sample_every and writes:
                    self.write_samples()
                while self.step < steps:
                    out_of_time = max_time_s is not None and time.perf_counter() - started >= max_time_s
                    signal_number, out_of_time = self.world.maximum([stop.signal or 0, out_of_time], self.device)
                    if signal_number:
                        stop.signal = stop.signal or int(signal_number)  # another process was asked to stop
                        break
                    if out_of_time:
                        stop_reason = "max-time"
                        break
                    terms = self.train_step(self.local_batch(self.step))
                    self._check_warmup_end()
                    interval_images += self.batch_size
                    self.elapsed_s = elapsed_before + time.perf_counter() - started
                    self.cpu_s = cpu_before + time.process_time() - cpu_started
                    if self.step % log_every == 0 or self.step == steps:
                        now = time.perf_counter()
                        last_row = self._metrics_row(terms, interval_images / max(now - interval_start, 1e-9))
                        if writes:
                            self._append_metrics(last_row)
                        interval_start, interval_images = now, 0
                        bar.set_postfix(
                            rec=f"{terms['reconstruction']:.4f}", Lx=f"{terms['loss_x']:.3f}",
                            Lgi=f"{terms['loss_gi']:.3f}", refresh=False,
                        )
                    bar.update(1)
                    if sample_every and self.step % sample_every == 0 and writes:
                        self.write_samples()
                    if checkpoint_every and self.step % checkpoint_every == 0:
                        self.save()
                if self.saved_step != self.step:
                    self.save()
            finally:
                bar.close()
            if stop.requested:
                self.stop_reason = "interrupted"
                raise stop.exception()
        if sample_every and self.step % sample_every and writes:
            self.write_samples()
        self.stop_reason = stop_reason
        return last_row

    def _metrics_row(self, terms, images_per_s):
        row = {
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "elapsed_s": round(self.elapsed_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "load_1m": load_average(),
            "images_per_s": round(images_per_s, 2),
            "loss_d": terms["loss_d_value"],
            "loss_g": float(terms["loss_g"].item()),
        }
        for name in METRIC_COLUMNS:
            if name not in row:
                row[name] = terms[name]
        return row

    # ------------------------------------------------------------------ files
    @property
    def metrics_path(self):
        return os.path.join(self.run_dir, "metrics.csv")

    def _append_metrics(self, row):
        new = not os.path.exists(self.metrics_path)
        with open(self.metrics_path, "a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=METRIC_COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})

    def _truncate_metrics(self):
        """Drop rows logged after the checkpoint being continued (they will be logged again)."""
        if not os.path.exists(self.metrics_path):
            return
        try:
            with open(self.metrics_path, newline="", encoding="utf-8") as stream:
                rows = [row for row in csv.DictReader(stream) if int(row["step"]) <= self.step]
        except (ValueError, KeyError, TypeError, csv.Error):  # UnicodeDecodeError is a ValueError
            raise InputError(
                f"{self.metrics_path!r} is damaged (not the metrics table this run wrote); move it out of"
                " the run folder and resume again: it is then started afresh from the checkpoint's step"
            ) from None

        def write(stream):
            writer = csv.DictWriter(stream, fieldnames=METRIC_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

        atomic_write(self.metrics_path, write, binary=False)

    def _write_run_json(self):
        path = os.path.join(self.run_dir, "run.json")
        record = {
            "gaia_stim_version": __version__, "torch_version": str(torch.__version__), **self.settings,
            "launch": {**self.world.record(), "device": self.device.type}, "performance": self.performance.record(),
        }
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        atomic_write(path, lambda stream: stream.write(text), binary=False)

    def training_record(self):
        """What a model file says about how it was trained."""
        keys = (
            "preset", "batch_size", "seed", "ablation", "lr_max", "alpha", "warmup_steps", "warmup_lr",
            "warmup_until", "warmup_max_steps", "warmup_bce", "data", "n_images", "data_fingerprint", "recon_weight", "ema_decay",
            "recipe",
        )
        record = {
            **{k: self.settings[k] for k in keys if k in self.settings},
            "steps": self.step,
            "elapsed_s": round(self.elapsed_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "threads": torch.get_num_threads(),
            "load_1m": load_average(),
            "device": self.device.type,
            "world_size": self.world.world_size,
        }
        if self.settings.get("warmup_until"):
            record["warmup_ended"] = self.warmup_ended
        return record

    def save(self):
        """Write checkpoint.pt and model.pt (both atomically; rank 0 only)."""
        if not self.world.is_main:
            self.saved_step = self.step
            return
        state = {
            "format": checkpoints.CHECKPOINT_FORMAT,
            "format_version": checkpoints.FORMAT_VERSION,
            "gaia_stim_version": __version__,
            "settings": self.settings,
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "cpu_s": self.cpu_s,
            "warmup_ended": self.warmup_ended,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
        }
        if self.generator_ema is not None:
            state["generator_ema"] = self.generator_ema.state_dict()
        checkpoints.atomic_torch_save(state, os.path.join(self.run_dir, "checkpoint.pt"))
        payload = checkpoints.model_payload(
            self.config, self.exported_generator.state_dict(), self.training_record()
        )
        checkpoints.atomic_torch_save(payload, os.path.join(self.run_dir, "model.pt"))
        self.saved_step = self.step

    @staticmethod
    def read_checkpoint(run_dir):
        """The checkpoint of ``run_dir`` (its ``settings`` say how to read the data)."""
        path = os.path.join(os.fspath(run_dir), "checkpoint.pt")
        if not os.path.isfile(path):
            raise InputError(f"--resume: {os.fspath(run_dir)!r} has no checkpoint.pt to continue from")
        state = checkpoints.read_file(path, checkpoints.CHECKPOINT_FORMAT)
        missing = [key for key in _CHECKPOINT_KEYS if key not in state]
        settings = state.get("settings")
        if not missing and isinstance(settings, dict):
            missing = [f"settings.{key}" for key in TrainingSettings.REQUIRED if key not in settings]
        elif not missing:
            missing = ["settings"]
        if missing:
            raise ModelFileError(
                f"{path!r} is an incomplete checkpoint (missing {', '.join(missing)}); it cannot be"
                " continued: start a new run"
            )
        return state

    @classmethod
    def resume(cls, run_dir, images, device="cpu", state=None, world=SINGLE_PROCESS, performance=Performance()):
        """A trainer in the exact state of ``run_dir/checkpoint.pt`` (or of ``state``, read from it)."""
        if state is None:
            state = cls.read_checkpoint(run_dir)
        fingerprint = data_fingerprint(images)
        if state["settings"].get("data_fingerprint") != fingerprint:
            raise InputError(
                f"--resume: the images given are not the ones this run was trained on"
                f" ({images.shape[0]} images now, {state['settings'].get('n_images')} then);"
                " pass the same --data folder"
            )
        trainer = cls(run_dir, images, state["settings"], device=device, world=world, performance=performance)
        try:
            trainer.generator.load_state_dict(state["generator"])
            trainer.discriminator.load_state_dict(state["discriminator"])
            trainer.optimizer_g.load_state_dict(state["optimizer_g"])
            trainer.optimizer_d.load_state_dict(state["optimizer_d"])
            if trainer.generator_ema is not None:
                trainer.generator_ema.load_state_dict(state["generator_ema"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise ModelFileError(
                f"the checkpoint in {os.fspath(run_dir)!r} does not match its own settings"
                f" ({str(error).splitlines()[0]}); it cannot be continued: start a new run"
            ) from None
        trainer.step = int(state["step"])
        trainer.elapsed_s = float(state["elapsed_s"])
        trainer.cpu_s = float(state.get("cpu_s") or 0.0)  # absent from checkpoints written before it was kept
        ended = state.get("warmup_ended")
        trainer.warmup_ended = None if ended is None else int(ended)
        trainer.saved_step = trainer.step
        return trainer

    # ------------------------------------------------------------------ pictures
    @torch.no_grad()
    def write_samples(self):
        """A sample sheet: inputs, reconstructions, then interpolations between input pairs."""
        generator = self.exported_generator
        x = self.to_tensor(self.images[self._sample_indices])
        z = generator.encode_latent(x)
        reconstructions = generator.decode_latent(z)
        n = x.shape[0]
        pairs = [(i, n - 1 - i) for i in range(n // 2)]
        levels = torch.linspace(0, 1, n, device=z.device)[:, None]
        rows = [x, reconstructions]
        for a, b in pairs:
            rows.append(generator.decode_latent((1 - levels) * z[a] + levels * z[b]))
        grid = torch.stack(rows).permute(0, 1, 3, 4, 2).cpu().numpy()  # (rows, cols, S, S, C)
        path = os.path.join(self.run_dir, "samples", f"step_{self.step:07d}.png")
        write_sample_sheet(grid, path)
        return path
