"""The GAIA training core: networks, objective, balancing, trainer and model files.

Nothing here imports the stimulus layer. Submodules load lazily, so
``gaia_stim.model.data`` (image reading) can be used without importing torch.
"""

import importlib

__all__ = [
    "ABLATIONS",
    "PRESETS",
    "ModelConfig",
    "preset_config",
    "Generator",
    "Discriminator",
    "count_parameters",
    "gaia_losses",
    "Trainer",
]

_WHERE = {
    "ABLATIONS": "objective",
    "gaia_losses": "objective",
    "PRESETS": "config",
    "ModelConfig": "config",
    "preset_config": "config",
    "Generator": "networks",
    "Discriminator": "networks",
    "count_parameters": "networks",
    "Trainer": "trainer",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"gaia_stim.model.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gaia_stim.model' has no attribute {name!r}")
