"""Training recipes: named sets of the settings that are not the network's size.

``paper``
    The reference's settings (DESIGN.md section 3.2): batch 8, ``lr_max`` 1e-4, ``alpha``
    ``lr_max / 2``, GAIA from the first step, G learning only through D.
``gaia-stim``
    What gaia-stim trains with unless told otherwise, chosen by the runs in
    docs/recipe_results.md: the same objective, started by a plain-autoencoder warm-up, with a
    direct reconstruction term for G and an exponential moving average of G's weights exported
    as the model (see :mod:`gaia_stim.model.objective` and :class:`~gaia_stim.model.trainer.Trainer`).

Every setting a recipe gives can still be set on its own (``gaia-stim train --lr-max ...``); the
recipe fills in only what is not given, and the run records the recipe's name and every value.
"""

from gaia_stim.errors import InputError

__all__ = ["RECIPES", "DEFAULT_RECIPE", "recipe_settings"]

DEFAULT_RECIPE = "gaia-stim"

RECIPES = {
    "paper": {
        "batch_size": 8,
        "lr_max": 1e-4,
        "warmup_steps": 0,
        "warmup_lr": None,
        "recon_weight": 0.0,
        "ema_decay": 0.0,
    },
    "gaia-stim": {
        "batch_size": 16,
        "lr_max": 2e-4,
        "warmup_fraction": 0.25,  # of --steps, at most WARMUP_CAP steps
        "warmup_lr": 1e-3,
        "recon_weight": 1.0,
        "ema_decay": 0.999,
    },
}
WARMUP_CAP = 1000


def recipe_settings(name, steps, **given):
    """The settings of recipe ``name`` for a run of ``steps`` steps, overridden by ``given``.

    ``given`` holds the options the user set (None values are ignored). ``alpha`` defaults to
    ``lr_max / 2`` as in the reference, whichever ``lr_max`` is used.

    Examples
    --------
    >>> recipe_settings("paper", 1000)["batch_size"]
    8
    >>> recipe_settings("gaia-stim", 1000)["warmup_steps"]
    250
    >>> recipe_settings("gaia-stim", 1000, lr_max=1e-3)["alpha"]
    0.0005
    """
    if name not in RECIPES:
        raise InputError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    settings = dict(RECIPES[name])
    fraction = settings.pop("warmup_fraction", None)
    if fraction is not None:
        settings["warmup_steps"] = min(WARMUP_CAP, int(steps * fraction))
    settings.update({key: value for key, value in given.items() if value is not None})
    if settings.get("alpha") is None:
        settings["alpha"] = settings["lr_max"] / 2
    settings["recipe"] = name
    return settings
