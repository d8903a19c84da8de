"""Training recipes: named sets of the settings that are not the network's size.

``paper``
    The reference's settings (docs/design.md, section 2.2): batch 8, ``lr_max`` 1e-4, ``alpha``
    ``lr_max / 2``, GAIA from the first step, G learning only through D.
``gaia-stim``
    What gaia-stim trains with unless told otherwise, chosen by the runs in
    docs/recipe_results.md: the same objective, started by a plain-autoencoder warm-up, with a
    direct reconstruction term for G and an exponential moving average of G's weights exported
    as the model (see :mod:`gaia_stim.model.objective` and :class:`~gaia_stim.model.trainer.Trainer`).

Every setting a recipe gives can still be set on its own (``gaia-stim train --lr-max ...``); the
recipe fills in only what is not given, and the run records the recipe's name and every value.
"""

from gaia_stim.core.errors import InputError

__all__ = ["RECIPES", "DEFAULT_RECIPE", "ABLATIONS", "recipe_settings"]

DEFAULT_RECIPE = "gaia-stim"

# The comparison models a run may train instead of full GAIA (what each changes is
# :mod:`gaia_stim.model.objective`'s docstring). Here, with the recipes, so that the command line
# reads the list without importing torch.
ABLATIONS = ("none", "ae", "no-interp", "no-structure")

RECIPES = {
    "paper": {
        "batch_size": 8,
        "lr_max": 1e-4,
        "warmup_steps": 0,
        "warmup_until": 0.0,
        "warmup_max_steps": None,
        "warmup_lr": None,
        "warmup_bce": 0.0,
        "recon_weight": 0.0,
        "ema_decay": 0.0,
    },
    "gaia-stim": {
        "batch_size": 16,
        "lr_max": 2e-4,
        # at least 500 plain-autoencoder steps, then on until G's error on a probe of the data is at
        # most half that of the best constant image, the per-pixel median (checked every 100
        # steps), 20,000 steps at most. Counts
        # and a criterion on the weights, not shares of --steps: a run continued with --resume to
        # more steps is then the same run as one started with the larger --steps. On sparse images
        # (thin strokes on black) G decodes everything to the background for thousands of steps; a
        # fixed count handed the game to D before G had learnt anything (docs/training.md)
        "warmup_steps": 500,
        "warmup_until": 0.5,
        "warmup_max_steps": 20000,
        "warmup_lr": 1e-3,
        # the warm-up's G loss gains a cross-entropy term on G's output logits: an L1-only warm-up
        # saturates the output sigmoid on sparse images (every logit at -10 and below within a few
        # hundred steps) and G never draws a stroke; with the term it does by step 500
        # (gaia_stim.model.objective, docs/training.md)
        "warmup_bce": 1.0,
        "recon_weight": 1.0,
        "ema_decay": 0.999,
    },
}


def recipe_settings(name, **given):
    """The settings of recipe ``name``, overridden by ``given``.

    ``given`` holds the options the user set (None values are ignored). ``alpha`` defaults to
    ``lr_max / 2`` as in the reference, whichever ``lr_max`` is used.

    Examples
    --------
    >>> recipe_settings("paper")["batch_size"]
    8
    >>> recipe_settings("gaia-stim", warmup_steps=None)["warmup_steps"]
    500
    >>> recipe_settings("gaia-stim")["warmup_until"]
    0.5
    >>> recipe_settings("paper")["warmup_bce"]
    0.0
    >>> recipe_settings("gaia-stim", lr_max=1e-3)["alpha"]
    0.0005
    """
    if name not in RECIPES:
        raise InputError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    settings = dict(RECIPES[name])
    settings.update({key: value for key, value in given.items() if value is not None})
    if settings.get("alpha") is None:
        settings["alpha"] = settings["lr_max"] / 2
    settings["recipe"] = name
    return settings
