"""Which torch device a command runs on: the one reading of ``--device``."""

from gaia_stim.core.errors import InputError

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device):
    """``"auto"``, ``"cpu"`` or ``"cuda"`` -> the device to use (``"cpu"`` or ``"cuda"``).

    torch is imported here, when a device is chosen, so that importing this module stays cheap.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        ``auto`` uses CUDA when a GPU is available, else the CPU.

    Returns
    -------
    str

    Raises
    ------
    InputError
        ``cuda`` without a CUDA GPU, or a name that is none of the three.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r}; choose auto, cpu or cuda")
    return device
