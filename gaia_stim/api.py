"""The inference API: a trained generator that encodes images and decodes latents."""

import numbers
import os
from importlib import resources

import numpy as np
import torch
from PIL import Image

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.device import resolve_device
from gaia_stim.core.errors import InputError, ModelFileError
from gaia_stim.core.images import load_image, prepare_image
from gaia_stim.model import checkpoint as checkpoints
from gaia_stim.model.config import ModelConfig
from gaia_stim.model.networks import Generator

__all__ = ["StimulusModel", "load_model", "default_model_path"]

DEFAULT_MODEL_FILE = "default_small_faces.pt"


def default_model_path():
    """Path of the model shipped inside the package."""
    return str(resources.files("gaia_stim") / "data" / DEFAULT_MODEL_FILE)


def _resolve_path(name_or_path):
    text = os.fspath(name_or_path)
    if text == "default":
        path = default_model_path()
        if not os.path.isfile(path):
            raise ModelFileError(
                "the default model is not installed with this copy of gaia-stim"
                f" (expected {path}); reinstall gaia-stim or pass --model PATH"
            )
        return path
    if os.path.isdir(text):
        path = os.path.join(text, "model.pt")
        if not os.path.isfile(path):
            raise ModelFileError(f"{text!r} is a folder without model.pt; give a training run folder or a model file")
        return path
    if not os.path.exists(text):
        raise ModelFileError(f"model {text!r} not found; give 'default', a training run folder or a model .pt file")
    return text


def _plain_record(value, depth=0):
    """True if ``value`` is made of JSON's plain values only (what a training record holds)."""
    if depth > 8:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain_record(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain_record(item, depth + 1) for key, item in value.items())
    return False


class StimulusModel:
    """A trained GAIA generator: ``encode`` images to latents, ``decode`` latents to images.

    Attributes
    ----------
    image_size, channels, latent_dim : int
    content_dim, style_dim : int
        z = [z_c, z_s]; ``latent_dim = content_dim + style_dim``.
    name : str
        What was asked for ("default" or the path given).
    path, file_sha256 : str
        The model file and its sha256 (for manifests).
    preset, version : str
        The network preset and the gaia-stim version that trained it.
    training : dict
        How it was trained (steps, seed, data, ...).
    """

    def __init__(self, payload, name, path, device="cpu"):
        try:
            self.config = ModelConfig.from_dict(payload["config"])
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{path!r} holds an unusable configuration: {error}") from None
        self.device = torch.device(resolve_device(device))
        weights = payload["generator"]
        if not all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in weights.items()):
            raise ModelFileError(
                f"{path!r} holds generator weights that are not all tensors; it was not written by gaia-stim or"
                " was damaged: use the run's own model.pt, or retrain"
            )
        training = payload.get("training", {})
        if not isinstance(training, dict) or not _plain_record(training):
            raise ModelFileError(
                f"{path!r} has an unreadable training record (it must be a table of plain values); it was not"
                " written by gaia-stim or was damaged: use the run's own model.pt, or retrain"
            )
        with torch.device("meta"):  # no random initialisation: every weight comes from the file
            generator = Generator(self.config)
        state = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
        try:
            generator.load_state_dict(state, assign=True)
        except RuntimeError as error:
            raise ModelFileError(f"{path!r} does not match its own configuration: {str(error).splitlines()[0]}") from None
        self.generator = generator.to(self.device).eval()
        if self.device.type == "cpu":
            # NHWC convolutions decode about 1.7x faster on a CPU (benchmarks/stimulus_speed.py); the
            # images differ from NCHW's by float rounding (under 1e-6), so the same code on the same
            # machine still writes the same bytes
            self.generator.to(memory_format=torch.channels_last)
        self.name = str(name)
        self.path = os.path.abspath(path)
        self.file_sha256 = file_sha256(path)
        self.training = dict(training)
        self.preset = str(self.training.get("preset", "custom"))
        self.version = str(payload.get("gaia_stim_version", "unknown"))
        # The discriminator (for the "feature" metric): in the file itself, or in the training
        # checkpoint beside it (a run folder holds both).
        self._discriminator_state = payload.get("discriminator")
        beside = os.path.join(os.path.dirname(self.path), "checkpoint.pt")
        self._checkpoint_path = beside if os.path.isfile(beside) else None
        self._discriminator = None

    image_size = property(lambda self: self.config.image_size)
    channels = property(lambda self: self.config.channels)
    latent_dim = property(lambda self: self.config.latent_dim)
    content_dim = property(lambda self: self.config.content_dim)
    style_dim = property(lambda self: self.config.style_dim)

    def __repr__(self):
        return (
            f"StimulusModel({self.name!r}, preset={self.preset!r}, image_size={self.image_size},"
            f" channels={self.channels}, latent_dim={self.latent_dim})"
        )

    @property
    def has_features(self):
        """Whether :meth:`features` can run: the discriminator is in the file or in checkpoint.pt beside it."""
        return self._discriminator_state is not None or self._checkpoint_path is not None

    @torch.no_grad()
    def features(self, images, batch_size=64):
        """Images -> the discriminator's encoder features, float32 (N, n_features).

        The content feature map and the style code of D's encoder, flattened and joined: the
        representation the ``feature`` distance of :mod:`gaia_stim.metrics` compares.

        Raises
        ------
        InputError
            The model file holds no discriminator and no checkpoint.pt lies beside it.
        """
        if self._discriminator is None:
            self._discriminator = self._load_discriminator()
        batch_size = _check_batch_size(batch_size)
        pixels, _ = self.prepare(images)
        features = []
        for start in range(0, len(pixels), batch_size):
            x = torch.from_numpy(pixels[start : start + batch_size]).permute(0, 3, 1, 2).to(self.device)
            content, style = self._discriminator.encode(x)
            features.append(torch.cat([content.flatten(1), style.flatten(1)], dim=1).float().cpu().numpy())
        return np.concatenate(features)

    def _load_discriminator(self):
        from gaia_stim.model.networks import Discriminator

        state = self._discriminator_state
        if state is None and self._checkpoint_path is not None:
            state = checkpoints.read_file(self._checkpoint_path, checkpoints.CHECKPOINT_FORMAT)["discriminator"]
        if state is None:
            raise InputError(
                f"{self.path!r} holds only the generator, and no checkpoint.pt lies beside it: the feature"
                " metric needs the discriminator; give a training run folder, or use another metric"
            )
        with torch.device("meta"):
            discriminator = Discriminator(self.config)
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        try:
            discriminator.load_state_dict(state, assign=True)
        except RuntimeError as error:
            raise ModelFileError(f"the discriminator beside {self.path!r} does not match the model: "
                                 f"{str(error).splitlines()[0]}") from None
        return discriminator.to(self.device).eval()

    def prepare(self, images):
        """Images as paths or arrays -> float32 (N, S, S, C) at the model's size and channels.

        ``images`` is one of: a path (str, bytes or path-like); a Pillow image; an array of
        shape (N, H, W, C) with C in 1..4 (a batch), (H, W, C) or (H, W) (one image); or a
        list of any of these single images, mixed. Arrays are channels-last: a (N, C, H, W)
        or (C, H, W) array is refused (use ``np.moveaxis``); a 3-D array is always one
        (H, W, C) image, so N grey images are (N, H, W, 1). Values: uint8, uint16, bool, or
        float in [0, 1].

        Returns the array and, per image, the list of changes made (crop, resize, ...).

        Raises
        ------
        InputError
            An array of another shape, dtype or value range, or no images; the message
            names the image (``images[i]``) and the fix.
        DataError
            A file that cannot be read correctly; the message names it.
        """
        if isinstance(images, (str, bytes, os.PathLike, Image.Image)):
            images = [images]
        if isinstance(images, (list, tuple)):
            if not images:
                raise InputError("no images given; give a path, a list of paths or arrays, or an (N, H, W, C) array")
            prepared = [self._prepare_one(item, index) for index, item in enumerate(images)]
        else:
            prepared = [self._prepare_one(item, index) for index, item in enumerate(_image_batch(images))]
        pixels = np.stack([item.pixels for item in prepared])
        return pixels, [item.changes for item in prepared]

    def _prepare_one(self, item, index):
        if isinstance(item, (str, bytes, os.PathLike)):
            return load_image(item, self.image_size, self.channels)  # errors name the file
        if isinstance(item, np.ndarray) and item.ndim == 4:
            raise InputError(
                f"images[{index}] is a batch of shape {item.shape}; a list holds single images:"
                " pass the (N, H, W, C) array itself, or concatenate the batches"
            )
        if item is None or isinstance(item, (dict, set, numbers.Number)):
            raise InputError(f"images[{index}] is {type(item).__name__}; give a path or an image array")
        try:
            return prepare_image(item, self.image_size, self.channels)
        except InputError as error:
            raise InputError(f"images[{index}]: {error}") from None

    @torch.no_grad()
    def encode(self, images, batch_size=64):
        """Images -> latents, float32 of shape (N, latent_dim).

        ``images``: (N, H, W, C) uint8 or float in [0, 1] (or one (H, W, C) or (H, W)
        image), a path, or a list of paths, arrays and Pillow images (see :meth:`prepare`);
        other sizes and channel counts are brought to the model's.
        """
        batch_size = _check_batch_size(batch_size)
        pixels, _ = self.prepare(images)
        latents = []
        for start in range(0, len(pixels), batch_size):
            x = torch.from_numpy(pixels[start : start + batch_size]).permute(0, 3, 1, 2).to(self.device)
            latents.append(self.generator.encode_latent(x).float().cpu().numpy())
        return np.concatenate(latents).astype(np.float32)

    @torch.no_grad()
    def decode(self, z, batch_size=64):
        """Latents (N, latent_dim), or one (latent_dim,), -> images, float32 (N, S, S, C) in [0, 1].

        Raises
        ------
        InputError
            ``z`` is not a real-valued array of that shape, holds NaN or infinite values, or
            holds latents so far from the model's range that the images come out non-finite
            (the message names those rows and their norms).
        """
        batch_size = _check_batch_size(batch_size)
        z = self._check_latents(z)
        images = []
        for start in range(0, len(z), batch_size):
            batch = torch.from_numpy(z[start : start + batch_size]).to(self.device)
            images.append(self.generator.decode_latent(batch).permute(0, 2, 3, 1).float().cpu().numpy())
        images = np.concatenate(images).astype(np.float32)
        bad = ~np.isfinite(images).all(axis=(1, 2, 3))
        if bad.any():
            rows = np.flatnonzero(bad)
            norms = np.linalg.norm(z[rows].astype(np.float64), axis=1)
            good = np.linalg.norm(z[~bad].astype(np.float64), axis=1)
            usable = f"; the other rows have norms up to {good.max():.3g}" if len(good) else ""
            raise InputError(
                f"latent rows {_some(rows)} (norms {_some(norms, '{:.3g}')}) decode to images with NaN or"
                f" infinite pixels{usable}: they lie far outside the range this model was trained on;"
                " use latents from encode, or interpolate or extrapolate less far"
            )
        return images

    def _check_latents(self, z):
        """Any array-like of latents -> float32 (N, latent_dim), or InputError."""
        expected = f"(N, {self.latent_dim}) or ({self.latent_dim},)"
        try:
            array = np.asarray(z)
        except (TypeError, ValueError) as error:  # ragged nested lists
            raise InputError(f"latents must be an array of shape {expected}; {error}") from None
        if array.dtype.kind not in "iuf":
            raise InputError(
                f"latents must be real numbers (float or int); got dtype {array.dtype}"
                " (use the float32 array that encode returns)"
            )
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2 or array.shape[1] != self.latent_dim:
            raise InputError(
                f"latents must have shape {expected} for this model; got {np.shape(z)}"
                " (latents from another model, or a transposed array?)"
            )
        if array.shape[0] == 0:
            raise InputError(f"no latents given: shape {array.shape}")
        if not np.all(np.isfinite(array)):
            rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
            raise InputError(f"latents contain NaN or infinite values (rows {_some(rows)})")
        with np.errstate(over="ignore"):
            as_float32 = array.astype(np.float32)
        if not np.all(np.isfinite(as_float32)):
            rows = np.flatnonzero(~np.isfinite(as_float32).all(axis=1))
            raise InputError(f"latent rows {_some(rows)} hold values beyond float32's range (about 3.4e38)")
        return as_float32


def _image_batch(images):
    """An array-like of images -> (N, H, W, C) array, one rule for every shape (see ``prepare``)."""
    try:
        array = np.asarray(images)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise InputError(f"images must be an (N, H, W, C) array, a path or a list; {error}") from None
    if array.dtype == object or array.ndim < 2:
        raise InputError(
            f"images must be a path, a list of paths or arrays, or an (N, H, W, C) array;"
            f" got {type(images).__name__} of shape {array.shape}"
        )
    if array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4):
        raise InputError(
            f"a 3-D array is one image of shape (H, W, C) with C in 1..4; got {array.shape}:"
            " for channels-first (C, H, W) use np.moveaxis(image, 0, -1); for N grey images"
            " give shape (N, H, W, 1), e.g. images[..., None]"
        )
    if array.ndim in (2, 3):
        return array[None]  # one image
    if array.ndim != 4:
        raise InputError(f"images must have shape (N, H, W, C) with C in 1..4; got {array.shape}")
    if array.shape[0] == 0:
        raise InputError(f"no images given: shape {array.shape}")
    if array.shape[3] not in (1, 2, 3, 4):
        hint = ""
        if array.shape[1] in (1, 2, 3, 4):
            hint = " (this looks channels-first, (N, C, H, W): use np.moveaxis(images, 1, -1))"
        raise InputError(f"images must have shape (N, H, W, C) with C in 1..4; got {array.shape}{hint}")
    return array


def _check_batch_size(batch_size):
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number, 1 or more; got {batch_size!r}")
    return int(batch_size)


def _some(values, form="{}", limit=5):
    """At most ``limit`` values for a message: '1, 4, 7 and 3 more'."""
    shown = ", ".join(form.format(value) for value in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def load_model(name_or_path="default", device="cpu"):
    """Load ``"default"`` (the shipped model), a training run folder, or a model file.

    Raises
    ------
    ModelFileError
        Missing, unreadable or not a gaia-stim model.
    """
    path = _resolve_path(name_or_path)
    payload = checkpoints.read_file(path, checkpoints.MODEL_FORMAT)
    return StimulusModel(payload, name_or_path if isinstance(name_or_path, str) else os.fspath(name_or_path), path, device)
