"""Simulated observers, and the trials an identification experiment needs for a given precision.

:func:`simulate_identification` and :func:`simulate_discrimination` answer trial rows as an
observer would, by drawing a covert label for every image shown (as the protocols' simulated
observer does, ``protocols/_protocol.py``), not by evaluating a formula: so data simulated here
check the labelling formulas of :mod:`gaia_stim.designs.records` instead of repeating them.
:func:`simulate_discrimination` can add a categorical-perception effect the labelling model does
not have (``bump_d_prime``): when the labels of the images do not decide the answer, the
observer falls back on a continuous comparison with sensitivity
d'(m) = bump_d_prime exp(-(m - pse)^2 / (2 bump_width^2)) at the pair's mean level m, answering
as a signal-detection observer of that design would (2AFC: Phi(d'/sqrt 2) correct; ABX: the
differencing model; same-different: "different" when |x1 - x2| exceeds a criterion set for a
false-alarm rate ``continuous_false_alarm``). Far from the boundary d' = 0, and that observer
guesses, as the labelling observer does (same-different: it says "different" as often to same
pairs as to different ones, which leaves its proportion correct unchanged).

:func:`interval_widths` and :func:`trials_needed` answer "how many repetitions per level?" for
an identification experiment by simulation: the width of the central ``ci`` range of the
maximum-likelihood pse and slope over many simulated experiments, which is the width an exact
``ci`` confidence interval would have (the parametric-bootstrap intervals of ``gaia-stim
analyze`` estimate the same width from one experiment).
"""

import math

import numpy as np
from scipy import special

from gaia_stim.analysis import psychometric
from gaia_stim.analysis.discrimination import DISCRIMINATION_DESIGNS, abx_proportion_correct
from gaia_stim.core.errors import InputError

__all__ = [
    "continuum_levels", "simulate_identification", "simulate_discrimination", "interval_widths", "trials_needed",
]


def _check_observer(pse, slope, lapse):
    if not (math.isfinite(pse) and math.isfinite(slope) and slope > 0):
        raise InputError(f"the observer needs a finite pse and a slope > 0; got pse={pse!r}, slope={slope!r}")
    if not 0 <= lapse <= 1:
        raise InputError(f"lapse must be in [0, 1]; got {lapse!r}")


def continuum_levels(n_steps):
    """``n_steps`` equally spaced morph levels from 0 to 1 (``gaia-stim continuum --steps``)."""
    if isinstance(n_steps, (bool, np.bool_)) or int(n_steps) != n_steps or n_steps < 2:
        raise InputError(f"n_steps must be a whole number >= 2; got {n_steps!r}")
    return np.linspace(0.0, 1.0, int(n_steps))


def simulate_identification(levels, pse, slope, lapse, rng, sigmoid="logistic"):
    """chose_b (0/1) per trial at morph ``levels``: a label drawn with F(x), or a coin with ``lapse``.

    Returns
    -------
    ndarray of shape (n_trials,)
    """
    _check_observer(pse, slope, lapse)
    levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    labels = rng.random(len(levels)) < psychometric.label_probability(levels, pse, slope, sigmoid)
    lapsed = rng.random(len(levels)) < lapse
    return np.where(lapsed, rng.random(len(levels)) < 0.5, labels).astype(np.float64)


def simulate_discrimination(design, levels, pse, slope, lapse, rng, sigmoid="logistic", bump_d_prime=0.0,
                            bump_width=0.1, continuous_false_alarm=0.05):
    """The coded responses of a covert-labelling observer, optionally with a boundary d' bump.

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    levels : array of shape (n_trials, k)
        The level columns of ``DESIGN_COLUMNS[design]``.
    pse, slope, lapse : float
        The observer's identification function and lapse rate.
    rng : numpy.random.Generator
    sigmoid : {"logistic", "normal"}, default="logistic"
    bump_d_prime : float, default=0.0
        Peak d' of the continuous comparison (at mean level = pse); 0 gives the pure labelling
        observer, whose answers follow ``psychometric.response_probability`` exactly.
    bump_width : float, default=0.1
        SD of the Gaussian bump, in morph units.
    continuous_false_alarm : float, default=0.05
        Same-different only: P("different") of the continuous comparison on a same trial.

    Returns
    -------
    ndarray of shape (n_trials,)
        2AFC and ABX: correct; same-different: said_different.
    """
    if design not in DISCRIMINATION_DESIGNS:
        raise InputError(f"design must be one of {', '.join(DISCRIMINATION_DESIGNS)}; got {design!r}")
    _check_observer(pse, slope, lapse)
    if bump_d_prime < 0 or bump_width <= 0:
        raise InputError(f"bump_d_prime must be >= 0 and bump_width > 0; got {bump_d_prime!r}, {bump_width!r}")
    if not 0 < continuous_false_alarm < 1:
        raise InputError(f"continuous_false_alarm must be in (0, 1); got {continuous_false_alarm!r}")
    levels = np.asarray(levels, dtype=np.float64)
    n = len(levels)

    def label(column):
        return rng.random(n) < psychometric.label_probability(levels[:, column], pse, slope, sigmoid)

    mean_level = (levels[:, 0] + levels[:, 1]) / 2
    d_prime = bump_d_prime * np.exp(-0.5 * ((mean_level - pse) / bump_width) ** 2)
    if design == "2afc":
        left_b, right_b = label(0), label(1)
        low_is_left = levels[:, 0] < levels[:, 1]
        continuous = rng.random(n) < special.ndtr(d_prime / math.sqrt(2.0))  # correct by the percept
        chose_left = np.where(left_b != right_b, ~left_b, continuous == low_is_left)
        answer = chose_left == low_is_left
    elif design == "abx":
        a_b, b_b, x_b = label(0), label(1), label(2)
        x_is_a = np.isclose(levels[:, 2], levels[:, 0])
        continuous = rng.random(n) < abx_proportion_correct(d_prime, "differencing")
        says_a = np.where(a_b != b_b, x_b == a_b, continuous == x_is_a)
        answer = says_a == x_is_a
    else:
        different_labels = label(0) != label(1)
        if bump_d_prime > 0:
            # |x1 - x2| > k with x1 - x2 ~ N(+-d', 2) (d' = 0 on a same trial)
            k = -math.sqrt(2.0) * float(special.ndtri(continuous_false_alarm / 2))
            shown = np.where(np.isclose(levels[:, 0], levels[:, 1]), 0.0, d_prime)
            difference = shown + math.sqrt(2.0) * rng.standard_normal(n)
            continuous = np.abs(difference) > k
        else:
            continuous = np.zeros(n, dtype=bool)
        answer = different_labels | continuous
    lapsed = rng.random(n) < lapse
    return np.where(lapsed, rng.random(n) < 0.5, answer).astype(np.float64)


def interval_widths(n_steps, reps, pse=0.5, slope=4.0, lapse=0.02, sigmoid="logistic", fit_lapse=True,
                    n_simulations=200, seed=0, ci=0.95):
    """Width of the ``ci`` range of the fitted pse and slope over simulated identification experiments.

    Each simulated experiment shows every level of an ``n_steps`` continuum ``reps`` times
    (:func:`simulate_identification`) and is fitted by :func:`psychometric.fit`, as ``gaia-stim
    analyze`` fits it (lapse fitted unless ``fit_lapse`` is False, when it is fixed at the true
    value).

    Parameters
    ----------
    n_steps : int
        Levels of the continuum, equally spaced from 0 to 1.
    reps : int
        Trials per level.
    pse, slope, lapse : float, default=0.5, 4.0, 0.02
        The simulated observer.
    sigmoid : {"logistic", "normal"}, default="logistic"
    fit_lapse : bool, default=True
    n_simulations : int, default=200
        At least 20.
    seed : int, default=0
    ci : float, default=0.95

    Returns
    -------
    dict
        ``n_trials``; ``pse_width`` and ``slope_width`` (the distance between the (1 - ci)/2 and
        (1 + ci)/2 quantiles of the estimates), ``slope_relative_width`` (slope_width / slope),
        ``pse_sd``, ``slope_sd``, ``pse_median``, ``slope_median``, and the parameters.
    """
    levels = continuum_levels(n_steps)
    if isinstance(reps, (bool, np.bool_)) or int(reps) != reps or reps < 1:
        raise InputError(f"reps must be a whole number >= 1; got {reps!r}")
    if isinstance(n_simulations, (bool, np.bool_)) or int(n_simulations) != n_simulations or n_simulations < 20:
        raise InputError(f"n_simulations must be a whole number >= 20; got {n_simulations!r}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1; got {ci!r}")
    _check_observer(pse, slope, lapse)
    trial_levels = np.repeat(levels, int(reps))[:, None]
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(int(n_simulations)):
        answers = simulate_identification(trial_levels, pse, slope, lapse, rng, sigmoid)
        result = psychometric.fit("identification", trial_levels, answers, sigmoid=sigmoid,
                                  lapse=None if fit_lapse else lapse)
        estimates.append((result["pse"], result["slope"]))
    estimates = np.array(estimates)
    tail = 100 * (1 - ci) / 2
    (pse_low, slope_low), (pse_high, slope_high) = np.percentile(estimates, [tail, 100 - tail], axis=0)
    return {
        "n_steps": int(n_steps), "reps": int(reps), "n_trials": int(n_steps * reps),
        "pse": pse, "slope": slope, "lapse": lapse, "sigmoid": sigmoid, "fit_lapse": bool(fit_lapse),
        "n_simulations": int(n_simulations), "seed": seed, "ci_level": ci,
        "pse_width": float(pse_high - pse_low), "slope_width": float(slope_high - slope_low),
        "slope_relative_width": float((slope_high - slope_low) / slope),
        "pse_sd": float(np.std(estimates[:, 0], ddof=1)), "slope_sd": float(np.std(estimates[:, 1], ddof=1)),
        "pse_median": float(np.median(estimates[:, 0])), "slope_median": float(np.median(estimates[:, 1])),
    }


def trials_needed(pse_width=None, slope_relative_width=None, n_steps=11, pse=0.5, slope=4.0, lapse=0.02,
                  sigmoid="logistic", fit_lapse=True, reps_options=(5, 10, 20, 40, 80), n_simulations=200, seed=0,
                  ci=0.95):
    """The fewest repetitions per level (of ``reps_options``) that meet target interval widths.

    Parameters
    ----------
    pse_width : float, optional
        Largest acceptable width of the ``ci`` interval of the pse (morph units).
    slope_relative_width : float, optional
        Largest acceptable width of the slope's interval as a fraction of the slope.
    n_steps, pse, slope, lapse, sigmoid, fit_lapse, n_simulations, seed, ci
        As for :func:`interval_widths` (every option is simulated with the same ``seed``).
    reps_options : sequence of int, default=(5, 10, 20, 40, 80)
        Candidates, tried in increasing order until the targets are met.

    Returns
    -------
    dict
        ``reps``: the fewest repetitions that meet every target given, or None if none does;
        ``n_trials``: reps * n_steps (None likewise); ``rows``: :func:`interval_widths` of each
        option tried.
    """
    if pse_width is None and slope_relative_width is None:
        raise InputError("give a target: pse_width, slope_relative_width or both")
    for name, value in (("pse_width", pse_width), ("slope_relative_width", slope_relative_width)):
        if value is not None and not value > 0:
            raise InputError(f"{name} must be positive; got {value!r}")
    rows = []
    for reps in sorted(set(int(r) for r in reps_options)):
        row = interval_widths(n_steps, reps, pse, slope, lapse, sigmoid, fit_lapse, n_simulations, seed, ci)
        rows.append(row)
        if ((pse_width is None or row["pse_width"] <= pse_width)
                and (slope_relative_width is None or row["slope_relative_width"] <= slope_relative_width)):
            return {"reps": reps, "n_trials": reps * int(n_steps), "rows": rows}
    return {"reps": None, "n_trials": None, "rows": rows}
