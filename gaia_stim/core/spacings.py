"""How the steps of a stimulus set are placed: the one list of ``--spacing`` choices.

The kinds (:mod:`gaia_stim.stimuli`), the explorer and the commands' ``--spacing`` options all read
these names here. The module imports only the errors, so the command line reads it at start-up
without numpy (a module under ``gaia_stim/stimuli/`` would load the kinds, and numpy with them).
"""

from gaia_stim.core.errors import InputError

__all__ = ["SPACINGS", "PERCEPTUAL", "IMAGE_SPACINGS", "KIND_SPACINGS", "check_spacing"]

# Equal steps of a perceptual scale measured on the same continuum (``gaia-stim scale``): it needs
# the scale (``scale=``, ``--scale``) besides the images.
PERCEPTUAL = "perceptual"

# name -> what it does, as the commands' help says it
SPACINGS = {
    "linear": "equal steps in latent space",
    "equal": "equal distances between neighbouring images in --metric",
    PERCEPTUAL: "equal steps of the perceptual scale --scale",
}

# The spacings that need nothing but the images (the explorer offers these).
IMAGE_SPACINGS = ("linear", "equal")

# kind -> the spacings it takes: a scale is measured on a continuum, so only a continuum is perceptual
KIND_SPACINGS = {
    "continuum": (*IMAGE_SPACINGS, PERCEPTUAL),
    "grid": IMAGE_SPACINGS,
    "wheel": IMAGE_SPACINGS,
}


def check_spacing(spacing, kind):
    """``spacing`` if ``kind`` takes it, else :class:`~gaia_stim.core.errors.InputError` naming the choices."""
    choices = KIND_SPACINGS[kind]
    if spacing not in choices:
        named = list(map(repr, choices))
        wanted = " or ".join(named) if len(named) == 2 else "one of " + ", ".join(named)
        raise InputError(f"spacing must be {wanted}; got {spacing!r}")
    return spacing
