"""Identification fits with psignifit 4 (Schütt et al. 2016), when it is installed.

psignifit is GPLv3, so gaia-stim never requires it (``pip install 'gaia-stim[psignifit]'``).
Its parameters are converted to gaia-stim's: threshold (at F = 0.5) is the PSE; the width from
F = 0.05 to F = 0.95 gives the slope at the PSE; the equal asymptotes (gamma = lambda) are half of
the lapse rate. Its intervals are Bayesian credible intervals of the posterior.
"""

import math

import numpy as np
from scipy import special

from gaia_stim.core.errors import InputError

__all__ = ["fit_psignifit", "slope_from_width"]

_SIGMOID_NAMES = {"logistic": "logistic", "normal": "norm"}


def slope_from_width(width, sigmoid, alpha=0.05):
    """dF/dx at the PSE of a sigmoid whose F = alpha .. 1 - alpha span is ``width``."""
    if sigmoid == "logistic":  # F = expit(4 s (x - pse))
        return 2.0 * math.log((1 - alpha) / alpha) / (4.0 * width)
    if sigmoid == "normal":  # F = Phi(sqrt(2 pi) s (x - pse))
        return 2.0 * float(special.ndtri(1 - alpha)) / (math.sqrt(2 * math.pi) * width)
    raise InputError(f"sigmoid must be logistic or normal; got {sigmoid!r}")


def fit_psignifit(design, levels, responses, sigmoid="logistic", lapse=None, ci=0.95):
    """psignifit's estimate of pse, slope and lapse with credible intervals (identification only)."""
    import psignifit

    if design != "identification":
        raise InputError(f"psignifit fits identification data only; got {design}")
    if not any(math.isclose(ci, level) for level in (0.95, 0.9, 0.68)):
        raise InputError(f"psignifit reports 0.95, 0.9 or 0.68 intervals; got --ci {ci}")
    x = np.asarray(levels, dtype=np.float64).reshape(-1)
    y = np.asarray(responses, dtype=np.float64)
    unique = np.unique(x)
    data = np.array([[level, y[x == level].sum(), (x == level).sum()] for level in unique])
    options = {
        "sigmoid": _SIGMOID_NAMES[sigmoid],
        "experiment_type": "equal asymptote",
        "thresh_PC": 0.5,
        "width_alpha": 0.05,
        "verbose": False,
    }
    if lapse is not None:
        options["fixed_parameters"] = {"lambda": lapse / 2, "gamma": lapse / 2}
    result = psignifit.psignifit(data, **options)
    estimate = result.parameter_estimate
    key = next(k for k in result.confidence_intervals["threshold"] if math.isclose(float(k), ci))

    def interval(name):
        low, high = result.confidence_intervals[name][key]
        return float(low), float(high)

    width_low, width_high = interval("width")
    lapse_low, lapse_high = interval("lambda")
    return {
        "pse": float(estimate["threshold"]),
        "slope": slope_from_width(float(estimate["width"]), sigmoid),
        "lapse": 2.0 * float(estimate["lambda"]),
        "log_likelihood": float("nan"),
        "n_trials": int(len(y)),
        "intervals": {
            "pse": interval("threshold"),
            "slope": (slope_from_width(width_high, sigmoid), slope_from_width(width_low, sigmoid)),
            "lapse": (2.0 * lapse_low, 2.0 * lapse_high),
        },
        "fitter": "psignifit",
    }
