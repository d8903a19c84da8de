"""A parametric family of synthetic colour faces: the parameters, their meanings and ranges, sampling.

In the spirit of the synthetic faces of Wilson, Loffler & Wilkinson (2002, Vision Research
42:2909-2923): a frontal face built from a head outline, hair, eyes, brows, nose and mouth,
each placed and sized by a measurement with a physical meaning. Every parameter lies in
``[0, 1]``, maps linearly onto its physical range, and ``0.5`` everywhere is the average face
(:data:`AVERAGE_FACE`). Because any parameter vector can be rendered, the ideal morph between
two faces (``render`` of the interpolated parameters) and the true size of a step are known.

Parameters (lengths are fractions of the head height ``H`` or the head width ``W``, both
measured on the head outline without hair and ears; colours are sRGB). Each maps linearly
from its value at 0 to its value at 1:

==================  ==========================================================================
``head_width``      head width over head height: 0 -> 0.66, 1 -> 0.84
``jaw_width``       lower-face width at 80 % of the way from head centre to chin, relative
                    to an elliptical head: 0 -> 0.84x (pointed chin), 1 -> 1.29x (square jaw)
``hairline_height`` hairline at the midline above the head centre: 0 -> 0.21 H (low
                    fringe), 1 -> 0.40 H (high forehead); it curves down to the temples
``hair_length``     lowest point of the hair below the head centre: 0 -> 0.05 H (cropped,
                    close to the head), 1 -> 0.80 H (shoulder length, wider, past the chin)
``hair_darkness``   hair colour: 0 blond, 0.33 light brown, 0.67 dark brown, 1 black; the
                    brows follow it
``skin_tone``       skin colour: 0 light (0.98, 0.86, 0.78), 0.5 medium (0.84, 0.64, 0.50),
                    1 dark brown (0.45, 0.30, 0.21)
``eye_size``        eye width, corner to corner: 0 -> 0.13 W, 1 -> 0.24 W (the height is
                    half the width)
``eye_spacing``     distance between the eye centres: 0 -> 0.32 W, 1 -> 0.52 W
``eye_height``      eye line below the head centre: 0 -> -0.06 H (above), 1 -> 0.04 H
                    (below); the brows and ears move with the eyes
``iris_colour``     0 blue, 0.33 grey-green, 0.67 hazel, 1 dark brown
``brow_height``     eye line to brow centre line: 0 -> 0.08 H, 1 -> 0.15 H
``brow_thickness``  brow thickness at its thickest: 0 -> 0.02 H, 1 -> 0.06 H
``nose_length``     base of the nose below the head centre: 0 -> 0.12 H, 1 -> 0.26 H (the
                    nose runs from the eye line down to there)
``nose_width``      width of the base of the nose across the nostril wings: 0 -> 0.14 W,
                    1 -> 0.24 W
``mouth_width``     mouth width, corner to corner: 0 -> 0.24 W, 1 -> 0.48 W
``mouth_curvature`` lift of the mouth corners over the mouth width: 0 -> -0.18 (frown),
                    0.5 -> 0 (neutral), 1 -> +0.18 (smile)
==================  ==========================================================================

Sampling (:func:`sample_parameters`) draws each parameter independently from Beta(2, 2):
mean 0.5, standard deviation 0.22, extreme faces rarer than with a uniform distribution.

The renderer is :mod:`gaia_stim.datasets.face_render`; face sets on disk are
:mod:`gaia_stim.datasets.face_sets`.
"""

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = [
    "PARAMETERS",
    "PARAMETER_DESCRIPTIONS",
    "AVERAGE_FACE",
    "SAMPLING",
    "sample_parameters",
]

# Each geometric parameter maps linearly from 0 -> low to 1 -> high in its physical unit;
# the renderer reads these scales, and the descriptions are written from them.
_HEIGHT = " of head height"
_WIDTH = " of head width"
_SCALES = {
    "head_width": (0.66, 0.84, "head width over head height", ""),
    "jaw_width": (
        0.84,
        1.29,
        "lower-face width at 80% of the way from head centre to chin, relative to an "
        "elliptical head (pointed chin to square jaw)",
        "x",
    ),
    "hairline_height": (0.21, 0.40, "hairline at the midline above the head centre", _HEIGHT),
    "hair_length": (
        0.05,
        0.80,
        "lowest point of the hair below the head centre (cropped to shoulder length)",
        _HEIGHT,
    ),
    "eye_size": (0.13, 0.24, "eye width, corner to corner (height is half the width)", _WIDTH),
    "eye_spacing": (0.32, 0.52, "distance between the eye centres", _WIDTH),
    "eye_height": (-0.06, 0.04, "eye line below the head centre (negative: above)", _HEIGHT),
    "brow_height": (0.08, 0.15, "eye line to brow centre line", _HEIGHT),
    "brow_thickness": (0.02, 0.06, "brow thickness at its thickest", _HEIGHT),
    "nose_length": (
        0.12,
        0.26,
        "base of the nose below the head centre (the nose runs from the eye line to there)",
        _HEIGHT,
    ),
    "nose_width": (0.14, 0.24, "width of the base of the nose across the nostril wings", _WIDTH),
    "mouth_width": (0.24, 0.48, "mouth width, corner to corner", _WIDTH),
    "mouth_curvature": (
        -0.18,
        0.18,
        "lift of the mouth corners over the mouth width (frown, 0.5 neutral, smile)",
        "",
    ),
}

_COLOUR_DESCRIPTIONS = {
    "hair_darkness": "hair colour: 0 blond, 0.33 light brown, 0.67 dark brown, 1 black",
    "skin_tone": "skin colour: 0 light, 0.5 medium, 1 dark brown",
    "iris_colour": "iris colour: 0 blue, 0.33 grey-green, 0.67 hazel, 1 dark brown",
}

_ORDER = (
    "head_width",
    "jaw_width",
    "hairline_height",
    "hair_length",
    "hair_darkness",
    "skin_tone",
    "eye_size",
    "eye_spacing",
    "eye_height",
    "iris_colour",
    "brow_height",
    "brow_thickness",
    "nose_length",
    "nose_width",
    "mouth_width",
    "mouth_curvature",
)


def _describe(name):
    if name in _COLOUR_DESCRIPTIONS:
        return _COLOUR_DESCRIPTIONS[name]
    low, high, meaning, unit = _SCALES[name]
    if unit == "x":
        return f"{meaning}: 0 -> {low:g}x, 1 -> {high:g}x"
    return f"{meaning}: 0 -> {low:g}, 1 -> {high:g}{unit}"


#: One line per parameter: its meaning and its scale.
PARAMETER_DESCRIPTIONS = {name: _describe(name) for name in _ORDER}

PARAMETERS = tuple(PARAMETER_DESCRIPTIONS)

AVERAGE_FACE = np.full(len(PARAMETERS), 0.5)
AVERAGE_FACE.flags.writeable = False

# How sample_parameters draws faces, as face sets record it.
SAMPLING = "independent Beta(2, 2) per parameter"


def _check_count(n):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise InputError(f"n (the number of faces) must be a whole number; got {n!r}")
    if n < 1:
        raise InputError(f"n (the number of faces) must be at least 1; got {n}")
    return int(n)


def _check_parameters(params):
    """(P,) or (N, P) array-like -> (N, P) float64, or InputError naming what is wrong."""
    try:
        array = np.array(params, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"params must be an array of numbers; got {params!r:.80} ({error})"
        ) from None
    n_parameters = len(PARAMETERS)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_parameters:
        raise InputError(
            f"params must have shape ({n_parameters},) or (N, {n_parameters}), one column per "
            f"name in PARAMETERS; got shape {np.shape(params)}"
        )
    finite = np.isfinite(array)
    if not finite.all():
        row, index = np.argwhere(~finite)[0]
        raise InputError(
            f"parameter {PARAMETERS[index]!r} of face {row} is {array[row, index]}; "
            "parameters must be finite numbers in [0, 1]"
        )
    outside = (array < 0.0) | (array > 1.0)
    if outside.any():
        row, index = np.argwhere(outside)[0]
        raise InputError(
            f"parameter {PARAMETERS[index]!r} of face {row} is {array[row, index]:g}; "
            "parameters must lie in [0, 1] (0.5 is the average face)"
        )
    return array


def _as_generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise InputError(f"a seed must be a non-negative whole number; got {rng}")
        return np.random.default_rng(int(rng))
    raise InputError(f"rng must be a numpy.random.Generator or a whole-number seed; got {rng!r}")


def sample_parameters(n, rng):
    """Draw random faces: each parameter independently from Beta(2, 2).

    Beta(2, 2) has mean 0.5 (the average face) and standard deviation 0.22; extreme values
    are rarer than under a uniform distribution but every face in the family can occur.

    Parameters
    ----------
    n : int
        Number of faces, at least 1.
    rng : numpy.random.Generator or int
        Source of randomness, or a seed for ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of shape (n, len(PARAMETERS))
        float64 parameters in [0, 1], columns in the order of :data:`PARAMETERS`.

    Raises
    ------
    InputError
        If ``n`` is not a whole number >= 1 or ``rng`` is neither a Generator nor a seed.

    Examples
    --------
    >>> params = sample_parameters(4, rng=0)
    >>> params.shape == (4, len(PARAMETERS))
    True
    """
    n = _check_count(n)
    generator = _as_generator(rng)
    return generator.beta(2.0, 2.0, size=(n, len(PARAMETERS)))
