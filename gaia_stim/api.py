"""The inference API: a trained generator that encodes images and decodes latents."""

import os
from importlib import resources

import numpy as np
import torch

from gaia_stim.errors import InputError, ModelFileError
from gaia_stim.model import checkpoint as checkpoints
from gaia_stim.model.config import ModelConfig
from gaia_stim.model.data import load_image, prepare_image
from gaia_stim.model.networks import Generator
from gaia_stim.model.trainer import resolve_device
from gaia_stim.stimulus_sets import file_sha256

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
        self.config = ModelConfig.from_dict(payload["config"])
        self.device = torch.device(resolve_device(device))
        with torch.device("meta"):  # no random initialisation: every weight comes from the file
            generator = Generator(self.config)
        state = {k: v.float() if v.is_floating_point() else v for k, v in payload["generator"].items()}
        try:
            generator.load_state_dict(state, assign=True)
        except RuntimeError as error:
            raise ModelFileError(f"{path!r} does not match its own configuration: {str(error).splitlines()[0]}") from None
        self.generator = generator.to(self.device).eval()
        self.name = str(name)
        self.path = os.path.abspath(path)
        self.file_sha256 = file_sha256(path)
        self.training = dict(payload.get("training", {}))
        self.preset = str(self.training.get("preset", "custom"))
        self.version = str(payload.get("gaia_stim_version", "unknown"))

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

    def prepare(self, images):
        """Images as paths or arrays -> float32 (N, S, S, C) at the model's size and channels.

        Returns the array and, per image, the list of changes made (crop, resize, ...).
        """
        if isinstance(images, (str, os.PathLike)):
            images = [images]
        if isinstance(images, (list, tuple)):
            if not images:
                raise InputError("no images given to encode")
            prepared = [
                load_image(item, self.image_size, self.channels)
                if isinstance(item, (str, os.PathLike))
                else prepare_image(item, self.image_size, self.channels)
                for item in images
            ]
        else:
            array = np.asarray(images)
            if array.ndim in (2, 3) and not (array.ndim == 3 and array.shape[-1] > 4):
                array = array[None]  # a single image
            if array.ndim == 3:  # (N, H, W) grey
                array = array[..., None]
            if array.ndim != 4 or array.shape[0] == 0:
                raise InputError(f"images must have shape (N, H, W, C); got {np.shape(images)}")
            prepared = [prepare_image(item, self.image_size, self.channels) for item in array]
        pixels = np.stack([item.pixels for item in prepared])
        return pixels, [item.changes for item in prepared]

    @torch.no_grad()
    def encode(self, images, batch_size=64):
        """Images -> latents, float32 of shape (N, latent_dim).

        ``images``: (N, H, W, C) uint8 or float in [0, 1] (or one (H, W, C) image), or a
        list of paths; other sizes and channel counts are brought to the model's.
        """
        pixels, _ = self.prepare(images)
        latents = []
        for start in range(0, len(pixels), batch_size):
            x = torch.from_numpy(pixels[start : start + batch_size]).permute(0, 3, 1, 2).to(self.device)
            latents.append(self.generator.encode_latent(x).float().cpu().numpy())
        return np.concatenate(latents).astype(np.float32)

    @torch.no_grad()
    def decode(self, z, batch_size=64):
        """Latents (N, latent_dim) -> images, float32 of shape (N, S, S, C) in [0, 1]."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"latents must have shape (N, {self.latent_dim}); got {z.shape}")
        if not np.all(np.isfinite(z)):
            raise InputError("latents contain NaN or infinite values")
        images = []
        for start in range(0, len(z), batch_size):
            batch = torch.from_numpy(z[start : start + batch_size]).to(self.device)
            images.append(self.generator.decode_latent(batch).permute(0, 2, 3, 1).float().cpu().numpy())
        return np.concatenate(images).astype(np.float32)


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
