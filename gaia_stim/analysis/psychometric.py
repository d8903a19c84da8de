"""Maximum-likelihood psychometric functions for the four designs, with bootstrap intervals.

The psychometric function F(x) is the probability of labelling morph level x as endpoint B:

- ``logistic``: F(x) = 1 / (1 + exp(-4 slope (x - pse)))
- ``normal``:   F(x) = Phi(sqrt(2 pi) slope (x - pse))

so in both families ``pse`` is where F = 0.5 and ``slope`` is dF/dx there (proportion per morph
unit). A lapse rate ``lapse`` replaces a fraction of answers with guesses: P = lapse / 2 +
(1 - lapse) P_observer.

Identification answers "B" with probability F(x). The discrimination designs are fitted with the
covert-labelling model of categorical perception (Liberman et al. 1957; Pollack & Pisoni 1971):
the observer labels every image shown, independently, with probability F, and answers from the
labels, guessing when they do not decide:

- 2afc ("which is more like A"): correct (the lower level chosen) with 1/2 + (F(hi) - F(lo)) / 2.
- abx: with p_c = F(level of X's source), p_o = F(the other):
  p_c^2 (1 - p_o) + (1 - p_c)^2 p_o + (p_c p_o + (1 - p_c)(1 - p_o)) / 2.
- same-different: "different" with F(x1)(1 - F(x2)) + F(x2)(1 - F(x1)).

So every design estimates the same pse and slope, and discrimination peaks at the category
boundary. Confidence intervals come from a parametric bootstrap with a seed.
"""

import math

import numpy as np
from scipy import optimize, special

from gaia_stim.core.errors import InputError

__all__ = ["SIGMOIDS", "DESIGN_COLUMNS", "label_probability", "response_probability", "fit", "bootstrap"]

SIGMOIDS = ("logistic", "normal")

# The columns each design's fit reads from a data file, the coded response last (1 or 0).
DESIGN_COLUMNS = {
    "identification": ("morph_level", "chose_b"),
    "2afc": ("morph_left", "morph_right", "correct"),
    "abx": ("morph_a", "morph_b", "morph_x", "correct"),
    "same-different": ("morph_1", "morph_2", "said_different"),
}

MAX_LAPSE = 0.2


def label_probability(x, pse, slope, sigmoid="logistic"):
    """F(x): the probability that morph level ``x`` is labelled endpoint B."""
    x = np.asarray(x, dtype=np.float64)
    if sigmoid == "logistic":
        return special.expit(4.0 * slope * (x - pse))
    if sigmoid == "normal":
        return special.ndtr(math.sqrt(2.0 * math.pi) * slope * (x - pse))
    raise InputError(f"sigmoid must be one of {', '.join(SIGMOIDS)}; got {sigmoid!r}")


def _observer_probability(design, levels, pse, slope, sigmoid):
    """P(coded response = 1) of a lapse-free observer; ``levels`` is (n_trials, n_columns)."""
    F = label_probability(levels, pse, slope, sigmoid)
    if design == "identification":
        return F[:, 0]
    if design == "2afc":
        low = np.where(levels[:, 0] <= levels[:, 1], F[:, 0], F[:, 1])
        high = np.where(levels[:, 0] <= levels[:, 1], F[:, 1], F[:, 0])
        return 0.5 + 0.5 * (high - low)
    if design == "abx":
        x_is_a = np.isclose(levels[:, 2], levels[:, 0])
        p_c = np.where(x_is_a, F[:, 0], F[:, 1])
        p_o = np.where(x_is_a, F[:, 1], F[:, 0])
        return p_c**2 * (1 - p_o) + (1 - p_c) ** 2 * p_o + 0.5 * (p_c * p_o + (1 - p_c) * (1 - p_o))
    if design == "same-different":
        return F[:, 0] * (1 - F[:, 1]) + F[:, 1] * (1 - F[:, 0])
    raise InputError(f"design must be one of {', '.join(DESIGN_COLUMNS)}; got {design!r}")


def response_probability(design, levels, pse, slope, lapse, sigmoid="logistic"):
    """P(coded response = 1) per trial: ``lapse / 2 + (1 - lapse) * observer``."""
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim == 1:
        levels = levels[:, None]
    return 0.5 * lapse + (1.0 - lapse) * _observer_probability(design, levels, pse, slope, sigmoid)


def _negative_log_likelihood(params, design, levels, responses, sigmoid, fixed_lapse):
    pse, log_slope = params[0], params[1]
    lapse = fixed_lapse if fixed_lapse is not None else params[2]
    p = response_probability(design, levels, pse, math.exp(log_slope), lapse, sigmoid)
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -float(np.sum(responses * np.log(p) + (1 - responses) * np.log1p(-p)))


def _check(design, levels, responses):
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim == 1:
        levels = levels[:, None]
    responses = np.asarray(responses, dtype=np.float64)
    if design not in DESIGN_COLUMNS:
        raise InputError(f"design must be one of {', '.join(DESIGN_COLUMNS)}; got {design!r}")
    expected = len(DESIGN_COLUMNS[design]) - 1
    if levels.shape != (len(responses), expected):
        raise InputError(f"{design} needs levels of shape (n_trials, {expected}); got {levels.shape}")
    if len(responses) < 3:
        raise InputError(f"a psychometric fit needs at least 3 trials; got {len(responses)}")
    if not np.all(np.isfinite(levels)):
        raise InputError("morph levels must be finite numbers")
    if not np.all((responses == 0) | (responses == 1)):
        raise InputError("responses must be coded 0 or 1")
    return levels, responses


def fit(design, levels, responses, sigmoid="logistic", lapse=None, start=None):
    """Maximum-likelihood pse, slope and lapse.

    Parameters
    ----------
    design : str
        One of ``DESIGN_COLUMNS``.
    levels : array of shape (n_trials, k)
        The morph-level columns of ``DESIGN_COLUMNS[design]`` (all but the last).
    responses : array of shape (n_trials,)
        The coded responses (0 or 1).
    sigmoid : {"logistic", "normal"}, default="logistic"
    lapse : float or None, default=None
        Fix the lapse rate instead of fitting it (in [0, 0.2]).
    start : dict or None
        A starting point (``pse``, ``slope``, ``lapse``); by default a grid of starts is tried.

    Returns
    -------
    dict
        ``pse``, ``slope``, ``lapse``, ``log_likelihood``, ``n_trials``.
    """
    levels, responses = _check(design, levels, responses)
    if lapse is not None and not 0 <= lapse <= MAX_LAPSE:
        raise InputError(f"lapse must be in [0, {MAX_LAPSE}]; got {lapse!r}")
    low, high = float(levels.min()), float(levels.max())
    span = max(high - low, 1e-6)
    bounds = [(low - 0.5 * span, high + 0.5 * span), (math.log(0.05 / span), math.log(1000.0 / span))]
    if lapse is None:
        bounds.append((0.0, MAX_LAPSE))
    if start is not None:
        starts = [(start["pse"], start["slope"], start.get("lapse", 0.02))]
    else:
        starts = [(low + f * span, s / span, 0.02) for f in (0.25, 0.5, 0.75) for s in (1.0, 4.0)]
    best = None
    for pse0, slope0, lapse0 in starts:
        x0 = [float(np.clip(pse0, *bounds[0])), float(np.clip(math.log(slope0), *bounds[1]))]
        if lapse is None:
            x0.append(float(np.clip(lapse0, 0.0, MAX_LAPSE)))
        result = optimize.minimize(
            _negative_log_likelihood, x0, args=(design, levels, responses, sigmoid, lapse),
            method="L-BFGS-B", bounds=bounds,
        )
        if best is None or result.fun < best.fun:
            best = result
    return {
        "pse": float(best.x[0]),
        "slope": float(math.exp(best.x[1])),
        "lapse": float(lapse if lapse is not None else best.x[2]),
        "log_likelihood": -float(best.fun),
        "n_trials": int(len(responses)),
    }


def bootstrap(design, levels, responses, estimate, n_bootstrap=200, seed=0, sigmoid="logistic",
              lapse=None, ci=0.95):
    """Percentile intervals of pse, slope and lapse from a parametric bootstrap.

    Responses are redrawn from the fitted ``estimate`` at the same trials with
    ``numpy.random.default_rng(seed)`` and refitted; returns ``{name: (low, high)}``.
    """
    levels, responses = _check(design, levels, responses)
    if n_bootstrap < 10:
        raise InputError(f"n_bootstrap must be at least 10; got {n_bootstrap}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1; got {ci}")
    rng = np.random.default_rng(seed)
    p = response_probability(design, levels, estimate["pse"], estimate["slope"], estimate["lapse"], sigmoid)
    draws = {"pse": [], "slope": [], "lapse": []}
    for _ in range(n_bootstrap):
        simulated = (rng.random(len(p)) < p).astype(np.float64)
        refit = fit(design, levels, simulated, sigmoid=sigmoid, lapse=lapse, start=estimate)
        for name in draws:
            draws[name].append(refit[name])
    tail = 100 * (1 - ci) / 2
    return {name: tuple(float(v) for v in np.percentile(values, [tail, 100 - tail])) for name, values in draws.items()}
