"""Trainer settings for the small runs the tests make (tiny preset, 32 px)."""

from gaia_stim.model import preset_config


def tiny_settings(seed=7, **changes):
    """The settings of a tiny run: batch 8, lr_max 1e-3, alpha 5e-4, no ablation; ``changes`` override."""
    values = {
        "preset": "tiny", "config": preset_config("tiny"), "batch_size": 8, "seed": seed,
        "ablation": "none", "lr_max": 1e-3, "alpha": 5e-4,
    }
    values.update(changes)
    return values
