"""Maximum-likelihood psychometric functions for every design, with bootstrap intervals.

Each design's observer model (the covert-labelling model of categorical perception) is part of its
record in :mod:`gaia_stim.designs.records`, which also defines the sigmoids: F(x) is the
probability of labelling morph level x as endpoint B, ``pse`` is where F = 0.5 and ``slope`` is
dF/dx there. A lapse rate ``lapse`` replaces a fraction of answers with guesses: P = lapse / 2 +
(1 - lapse) P_observer. So every design estimates the same pse and slope. Confidence intervals come
from a parametric bootstrap with a seed.
"""

import math
from collections.abc import Mapping

import numpy as np
from scipy import optimize

from gaia_stim.core.errors import InputError
from gaia_stim.core.progress import progress_bar
from gaia_stim.designs.records import DESIGNS, SIGMOIDS, get_design, label_probability

__all__ = ["SIGMOIDS", "DESIGN_COLUMNS", "label_probability", "response_probability", "fit", "bootstrap"]


def _psychometric_designs():
    return [name for name, record in DESIGNS.items() if record.from_labels is not None]


class _DesignColumns(Mapping):
    """design name -> the columns its fit reads (levels, then the coded response): a view of DESIGNS.

    Only the designs whose psychometric function this module fits (not MLDS, fitted by ``gaia-stim scale``).
    """

    def __getitem__(self, design):
        if DESIGNS[design].from_labels is None:
            raise KeyError(design)
        return DESIGNS[design].columns

    def __iter__(self):
        return iter(_psychometric_designs())

    def __len__(self):
        return len(_psychometric_designs())

    def __repr__(self):
        return f"DESIGN_COLUMNS({dict(self)!r})"


DESIGN_COLUMNS = _DesignColumns()

MAX_LAPSE = 0.2


def response_probability(design, levels, pse, slope, lapse, sigmoid="logistic"):
    """P(coded response = 1) per trial: ``lapse / 2 + (1 - lapse) * observer``.

    The observer is the design record's :meth:`~gaia_stim.designs.records.Design.response_probability`;
    ``levels`` has one column per level column of the design (or is 1-d for one column).
    """
    return 0.5 * lapse + (1.0 - lapse) * get_design(design).response_probability(levels, pse, slope, sigmoid)


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
    expected = len(get_design(design).level_columns)
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
        The name of a design in ``gaia_stim.designs.DESIGNS``.
    levels : array of shape (n_trials, k)
        The design's morph-level columns (``DESIGN_COLUMNS[design]`` but the last).
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
    for _ in progress_bar(range(n_bootstrap), description="bootstrap", unit="fit"):
        simulated = (rng.random(len(p)) < p).astype(np.float64)
        refit = fit(design, levels, simulated, sigmoid=sigmoid, lapse=lapse, start=estimate)
        for name in draws:
            draws[name].append(refit[name])
    tail = 100 * (1 - ci) / 2
    return {name: tuple(float(v) for v in np.percentile(values, [tail, 100 - tail])) for name, values in draws.items()}
