"""The GAIA training core: networks, objective, balancing, trainer, run folders and model files.

Nothing here imports anything above the ground floor (:mod:`gaia_stim.core`); see
docs/architecture.md. The names below load lazily, so ``gaia_stim.model.config``,
``gaia_stim.model.recipes`` and ``gaia_stim.model.runs`` can be used without importing torch.
"""

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


def __getattr__(name):
    if name == "ABLATIONS":
        from gaia_stim.model.recipes import ABLATIONS

        return ABLATIONS
    if name == "gaia_losses":
        from gaia_stim.model.objective import gaia_losses

        return gaia_losses
    if name in ("PRESETS", "ModelConfig", "preset_config"):
        from gaia_stim.model import config

        return getattr(config, name)
    if name in ("Generator", "Discriminator", "count_parameters"):
        from gaia_stim.model import networks

        return getattr(networks, name)
    if name == "Trainer":
        from gaia_stim.model.trainer import Trainer

        return Trainer
    raise AttributeError(f"module 'gaia_stim.model' has no attribute {name!r}")
