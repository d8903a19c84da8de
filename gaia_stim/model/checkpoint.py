"""Model and checkpoint files: written atomically, read with ``weights_only=True``.

A *model file* (``model.pt``) holds what inference needs: the generator's weights,
its configuration and the gaia-stim version and training settings that made it.
A *checkpoint* (``checkpoint.pt``) holds everything a run needs to continue
exactly: both networks, both optimisers, the step and the elapsed time.
"""

import os

import torch

from gaia_stim._version import __version__
from gaia_stim.core.errors import ModelFileError
from gaia_stim.core.atomic import atomic_write

__all__ = [
    "MODEL_FORMAT",
    "CHECKPOINT_FORMAT",
    "atomic_torch_save",
    "read_file",
    "model_payload",
    "half_precision",
]

MODEL_FORMAT = "gaia-stim-model"
CHECKPOINT_FORMAT = "gaia-stim-checkpoint"
FORMAT_VERSION = 1
# Entries (dicts) each kind of file must hold.
_REQUIRED = {
    MODEL_FORMAT: ("config", "generator"),
    CHECKPOINT_FORMAT: ("settings", "generator", "discriminator", "optimizer_g", "optimizer_d"),
}


def atomic_torch_save(payload, path):
    """``torch.save`` to a temporary file beside ``path``, then rename it into place."""
    atomic_write(path, lambda stream: torch.save(payload, stream))


def read_file(path, expected_format):
    """Load a model or checkpoint file safely and check what it is."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"model file {path!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a corrupt or foreign file
        kind = expected_format.split("-")[-1]
        if "global" in str(error).lower():
            reason = "it holds Python objects, not only weights (loading them could run code, so they were not)"
        else:
            reason = f"it is damaged or not a PyTorch file ({type(error).__name__})"
        raise ModelFileError(
            f"cannot read {path!r} as a gaia-stim {kind} file: {reason}; copy it again, or use a {kind}"
            " file that gaia-stim wrote"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ModelFileError(
            f"{path!r} is not a {expected_format} file (found {found!r});"
            " give a run folder, its model.pt, or 'default'"
        )
    required = _REQUIRED[expected_format]
    missing = [key for key in required if not isinstance(payload.get(key), dict)]
    if missing:
        raise ModelFileError(
            f"{path!r} is an incomplete {expected_format} file (no {', '.join(missing)});"
            " it was not written by gaia-stim or was damaged: use the run's own model.pt, or retrain"
        )
    if not isinstance(payload.get("format_version", 0), int):
        raise ModelFileError(f"{path!r} has an unreadable format_version; it was not written by gaia-stim")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} was written by a newer gaia-stim ({payload.get('gaia_stim_version') or 'file format'}"
            f" {payload.get('format_version')});"
            f" this is {__version__}: upgrade gaia-stim to read it"
        )
    return payload


def model_payload(config, generator_state, training):
    """The dict stored in a model file."""
    return {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "gaia_stim_version": __version__,
        "torch_version": str(torch.__version__),
        "config": config.to_dict(),
        "generator": {name: tensor.detach().cpu() for name, tensor in generator_state.items()},
        "training": dict(training),
    }


def half_precision(payload):
    """A copy of a model payload with float32 weights stored as float16 (half the file size).

    ``load_model`` turns them back into float32; the rounding error (relative
    ~5e-4) is far below a pixel step of an 8-bit image.
    """
    converted = dict(payload)
    converted["generator"] = {
        name: tensor.half() if tensor.dtype == torch.float32 else tensor
        for name, tensor in payload["generator"].items()
    }
    converted["stored_dtype"] = "float16"
    return converted
