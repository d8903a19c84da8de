"""Maximum likelihood difference scaling (MLDS): a perceptual scale from "which pair differs more?".

The model (Maloney & Yang 2003) and the conventions of Knoblauch & Maloney's R package MLDS
(``mlds``, ``boot.mlds``, ``binom.diagnostics``), which is the reference implementation:

- Stimuli 1..n along a continuum have perceptual scale values psi_1..psi_n. A trial shows two pairs;
  the observer judges the difference of each pair, with Gaussian decision noise of standard
  deviation sigma on the difference of the two differences. With the second pair (c, d) and the
  first (a, b), P(second pair judged more different) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma).
  For a triad shown as (a, b, c) the pairs are (a, b) and (b, c); for a quadruple (a, b, c, d), (a, b)
  and (c, d) (:mod:`gaia_stim.designs.mlds_trials`).
- The fit is the R package's default (``method = "glm"``, ``lnk = "probit"``): a probit GLM without
  intercept whose coefficients are psi_2..psi_n in units of sigma (psi_1 = 0 fixed, sigma = 1). Each
  pair enters as the scale of its higher stimulus minus that of its lower one, so the predictor of a
  trial is (psi_hi2 - psi_lo2) - (psi_hi1 - psi_lo1): the absolute differences of the model when the
  scale rises along the continuum, which is what the GLM assumes (as in R, the sign within a pair is
  not estimated). For a triad (a < b < c) shown in order the weights are (1, -2, 1), for a quadruple
  (1, -1, -1, 1): R's design matrices.
- Reported, as R's ``boot.mlds`` and ``summary(..., standard.scale = TRUE)`` do, is the standard
  scale: the GLM scale divided by its last value, so psi_1 = 0 and psi_n = 1, and
  sigma = 1 / psi_n(GLM), the decision noise in units of the whole scale.
- Intervals come from R's parametric bootstrap (``boot.mlds``): responses are redrawn from the
  fitted probabilities at the same trials, refitted, and each refit is normalised the same way;
  gaia-stim reports percentile intervals of those refits (R prints their mean and SD).
- Goodness of fit is R's ``binom.diagnostics``: in every refit of the same bootstrap, the deviance
  residuals are sorted by fitted probability and the runs of positive and negative residuals counted;
  the p-value is the fraction of bootstrap samples with as few runs as the data or fewer (too few
  runs: the residuals cluster, the model misses a trend). The sorted residuals of the data are also
  compared with the bootstrap's envelope of sorted residuals (R's left-hand diagnostic plot).

The maximum-likelihood fit is Newton's method on the probit GLM's log-likelihood (concave, so it
converges from zero); a data set that some scale predicts perfectly (separation: the likelihood
grows without bound as sigma shrinks to zero) is detected with a linear program and refused, and
bootstrap samples that separate enter with the scale where the fit stops (as in R) and are counted.
"""

import csv
import io
import json
import logging
import math
import os
import warnings
import zlib

import numpy as np

from gaia_stim._version import __version__
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.progress import progress_bar
from gaia_stim.designs.mlds_trials import MIN_STIMULI, MLDS_DESIGNS, RESPONSE_COLUMN, TUPLE_SIZE

__all__ = [
    "MLDSWarning", "MLDS_DESIGNS", "RESPONSE_COLUMN", "SCALE_FILE", "PLOT_FILE", "RECORD_FILE", "GROUP",
    "pair_indices", "design_matrix", "observer_probability", "simulate_responses", "log_likelihood",
    "fit", "bootstrap", "group_scale", "count_runs", "index_trials", "read_scale_data", "analyze_scale", "read_scale",
]

logger = logging.getLogger(__name__)

SCALE_FILE = "scale.csv"
PLOT_FILE = "scale.png"
RECORD_FILE = "scale.json"
FOLDER_FORMAT = "gaia-stim perceptual scale"
FOLDER_WHAT = "gaia-stim perceptual scale folder"
RECORD_FORMAT = "gaia-stim perceptual scale record"
GROUP = "group"

LEVEL_COLUMNS = {design: tuple(f"morph_{k}" for k in range(1, size + 1)) for design, size in TUPLE_SIZE.items()}
STEP_COLUMNS = {design: tuple(f"step_{k}" for k in range(1, size + 1)) for design, size in TUPLE_SIZE.items()}
R_RESPONSE = "resp"
R_STIMULI = ("S1", "S2", "S3", "S4")

_NEWTON_ITERATIONS = 100
_NEWTON_TOLERANCE = 1e-10


class MLDSWarning(UserWarning):
    """A fit that worked but whose result needs care (e.g. many bootstrap samples that separate)."""


# --------------------------------------------------------------------------------------------
# the model


def pair_indices(trials):
    """The two pairs of every trial, each pair ordered (lower index, higher index).

    Parameters
    ----------
    trials : array of int, shape (n_trials, 3) or (n_trials, 4)
        Stimulus indices in presentation order: a triad's pairs are columns (0, 1) and (1, 2), a
        quadruple's (0, 1) and (2, 3).

    Returns
    -------
    tuple of four ndarrays of shape (n_trials,)
        ``(low_1, high_1, low_2, high_2)``: the first pair and the second.
    """
    trials = np.asarray(trials)
    if trials.ndim != 2 or trials.shape[1] not in (3, 4):
        raise InputError(f"trials must have shape (n_trials, 3) or (n_trials, 4); got {trials.shape}")
    first = trials[:, [0, 1]]
    second = trials[:, [1, 2]] if trials.shape[1] == 3 else trials[:, [2, 3]]
    return first.min(axis=1), first.max(axis=1), second.min(axis=1), second.max(axis=1)


def design_matrix(trials, n_stimuli):
    """The GLM's design matrix: +1/-1 weights of each stimulus in (psi_hi2 - psi_lo2) - (psi_hi1 - psi_lo1).

    Parameters
    ----------
    trials : array of int, shape (n_trials, 3) or (n_trials, 4)
        Stimulus indices ``0 .. n_stimuli - 1`` in presentation order.
    n_stimuli : int

    Returns
    -------
    ndarray of shape (n_trials, n_stimuli)
        Row i times the scale values is trial i's predictor; a triad (a, b, c) shown in order has
        weights (1, -2, 1) on (a, b, c), a quadruple (1, -1, -1, 1) on (a, b, c, d).
    """
    low_1, high_1, low_2, high_2 = pair_indices(trials)
    rows = np.arange(len(low_1))
    matrix = np.zeros((len(low_1), int(n_stimuli)))
    for columns, weight in ((high_2, 1.0), (low_2, -1.0), (high_1, -1.0), (low_1, 1.0)):
        np.add.at(matrix, (rows, columns), weight)
    return matrix


def _scale_function(scale):
    """A callable psi(level) from a callable, or from a table ``(levels, values)`` (linear between them)."""
    if callable(scale):
        return scale
    try:
        levels, values = (np.asarray(part, dtype=np.float64) for part in scale)
    except (TypeError, ValueError):
        raise InputError("scale must be a callable psi(level) or a table (levels, values)") from None
    if levels.ndim != 1 or levels.shape != values.shape or len(levels) < 2 or np.any(np.diff(levels) <= 0):
        raise InputError("a scale table needs two arrays of the same length: increasing levels and their values")
    return lambda x: np.interp(x, levels, values)


def observer_probability(levels, scale, sigma):
    """P(the second pair is judged more different) of a simulated MLDS observer.

    P = Phi((|psi(d) - psi(c)| - |psi(b) - psi(a)|) / sigma), with the first pair (a, b) and the
    second (c, d); for a triad (a, b, c) shown in that order the pairs are (a, b) and (b, c).

    Parameters
    ----------
    levels : array of shape (n_trials, 3) or (n_trials, 4)
        Morph levels (or any stimulus values ``scale`` takes) in presentation order.
    scale : callable or (levels, values)
        The observer's perceptual scale psi: a function of the level, or a table interpolated linearly.
    sigma : float
        Decision noise, in the units of psi; > 0.

    Returns
    -------
    ndarray of shape (n_trials,)
    """
    from scipy import special

    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 2 or levels.shape[1] not in (3, 4):
        raise InputError(f"levels must have shape (n_trials, 3) or (n_trials, 4); got {levels.shape}")
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma > 0):
        raise InputError(f"sigma must be a finite number > 0; got {sigma!r}")
    psi = np.asarray(_scale_function(scale)(levels), dtype=np.float64).reshape(levels.shape)
    first = np.abs(psi[:, 1] - psi[:, 0])
    second = np.abs(psi[:, 2] - psi[:, 1]) if levels.shape[1] == 3 else np.abs(psi[:, 3] - psi[:, 2])
    return special.ndtr((second - first) / sigma)


def simulate_responses(levels, scale, sigma, rng):
    """Responses (1: second pair more different, 0: first) of the observer of :func:`observer_probability`.

    Parameters
    ----------
    levels, scale, sigma
        As :func:`observer_probability`.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    ndarray of int of shape (n_trials,)
    """
    probability = observer_probability(levels, scale, sigma)
    return (rng.random(len(probability)) < probability).astype(np.int64)


def _check_trials(trials, responses, n_stimuli=None):
    trials = np.asarray(trials)
    if trials.ndim != 2 or trials.shape[1] not in (3, 4):
        raise InputError(f"trials must have shape (n_trials, 3) or (n_trials, 4); got {trials.shape}")
    if not np.issubdtype(trials.dtype, np.integer):
        if not np.all(np.isfinite(trials)) or np.any(trials != np.round(trials)):
            raise InputError("trials must hold whole stimulus indices")
        trials = trials.astype(np.int64)
    responses = np.asarray(responses, dtype=np.float64).reshape(-1)
    if len(responses) != len(trials):
        raise InputError(f"got {len(trials)} trials but {len(responses)} responses")
    if not np.all((responses == 0) | (responses == 1)):
        bad = responses[(responses != 0) & (responses != 1)][0]
        raise InputError(f"responses must be 0 (first pair more different) or 1 (second pair); found {bad!r}")
    if n_stimuli is None:
        n_stimuli = int(trials.max()) + 1 if len(trials) else 0
    if len(trials) and (trials.min() < 0 or trials.max() >= n_stimuli):
        raise InputError(f"stimulus indices must lie in 0..{n_stimuli - 1}")
    return trials, responses, int(n_stimuli)


def log_likelihood(trials, responses, scale, sigma=1.0):
    """The GLM's log-likelihood of the responses for given scale values and noise.

    sum_i log Phi(s_i eta_i), with eta_i = ((psi_hi2 - psi_lo2) - (psi_hi1 - psi_lo1)) / sigma and
    s_i = +1 for response 1 (second pair), -1 for response 0.

    Parameters
    ----------
    trials : array of int, shape (n_trials, 3) or (n_trials, 4)
        Stimulus indices in presentation order.
    responses : array of shape (n_trials,)
        1: the second pair was judged more different; 0: the first.
    scale : array of shape (n_stimuli,)
        Scale value of every stimulus index.
    sigma : float, default=1.0

    Returns
    -------
    float
    """
    from scipy import special

    scale = np.asarray(scale, dtype=np.float64)
    trials, responses, _ = _check_trials(trials, responses, len(scale))
    eta = design_matrix(trials, len(scale)) @ scale / float(sigma)
    return float(np.sum(special.log_ndtr((2.0 * responses - 1.0) * eta)))


def _newton(matrix, responses, start=None):
    """Maximum-likelihood probit GLM coefficients by Newton's method with step halving.

    Returns ``(beta, log_likelihood, converged, iterations)``.
    """
    from scipy import special

    signs = 2.0 * responses - 1.0
    beta = np.zeros(matrix.shape[1]) if start is None else np.array(start, dtype=np.float64)

    def value(b):
        return float(np.sum(special.log_ndtr(signs * (matrix @ b))))

    current = value(beta)
    for iteration in range(1, _NEWTON_ITERATIONS + 1):
        z = signs * (matrix @ beta)
        log_cdf = special.log_ndtr(z)
        mills = np.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - log_cdf)  # phi(z) / Phi(z)
        gradient = matrix.T @ (signs * mills)
        weights = mills * (z + mills)  # > 0: minus the second derivative of log Phi
        information = matrix.T @ (weights[:, None] * matrix)
        try:
            # numpy's solve: near-singular information (a sample that separates) is not a warning here
            step = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            return beta, current, False, iteration
        decrement = float(gradient @ step)
        if not math.isfinite(decrement):
            return beta, current, False, iteration
        if decrement < _NEWTON_TOLERANCE:
            return beta, current, True, iteration
        length = 1.0
        while length > 1e-8:
            candidate = beta + length * step
            new = value(candidate)
            if new >= current - 1e-12:
                break
            length *= 0.5
        else:
            return beta, current, False, iteration
        beta, current = candidate, new
    return beta, current, False, _NEWTON_ITERATIONS


def _has_maximum(matrix, responses, beta):
    """True if the data provably have a finite maximum-likelihood scale (no separation).

    The proof is a strictly positive u with A^T u = 0 over a subset S of the trials (A: the design
    matrix, rows signed by the response) whose A_S has full column rank: then u^T A_S v = 0 for
    every v, so A v >= 0 forces A_S v = 0, hence v = 0, and no direction separates (Stiemke's
    lemma). At the maximum, A^T times the inverse Mills ratios lambda = phi(z) / Phi(z) is the
    gradient, zero; S keeps the trials whose lambda is not negligible (the easy trials' are ~1e-20,
    below rounding), and u is lambda_S moved onto A_S^T u = 0 by a projection weighted by lambda_S^2,
    which changes each component in proportion to itself. False means "not proved" (the linear
    program of :func:`_separating_direction` then decides), not "separated".
    """
    from scipy import special

    signed = (2.0 * responses - 1.0)[:, None] * matrix
    z = signed @ beta
    mills = np.exp(-0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - special.log_ndtr(z))
    if not np.all(np.isfinite(mills)):
        return False
    keep = mills > 1e-6 * mills.max()
    subset, weights = signed[keep], mills[keep]
    if np.linalg.matrix_rank(subset) < matrix.shape[1]:
        return False
    squared = weights**2
    try:
        shift = np.linalg.solve(subset.T @ (squared[:, None] * subset), subset.T @ weights)
    except np.linalg.LinAlgError:
        return False
    candidate = weights - squared * (subset @ shift)
    # each component within half of itself: far from zero, beyond any rounding of the projection
    return bool(np.all(np.isfinite(candidate)) and np.all(candidate > 0.5 * weights))


def _separating_direction(matrix, responses):
    """A direction in which the likelihood rises without bound (separation), or None.

    Solves max sum(A b) subject to A b >= 0 and -1 <= b <= 1, with A the design matrix with rows
    signed by the response (Konis 2007): a positive optimum means some scale predicts every response
    it touches and is neutral on the others, so the maximum-likelihood estimate does not exist.
    """
    from scipy import optimize

    signed = (2.0 * responses - 1.0)[:, None] * matrix
    result = optimize.linprog(
        -signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(signed)),
        bounds=[(-1.0, 1.0)] * matrix.shape[1], method="highs",
    )
    if result.status != 0 or -result.fun <= 1e-7:
        return None
    return result.x


def _describe(label):
    return f" ({label})" if label else ""


def fit(trials, responses, n_stimuli=None, label=""):
    """The maximum-likelihood MLDS scale (probit GLM, as R's ``mlds(..., method = "glm")``).

    Parameters
    ----------
    trials : array of int, shape (n_trials, 3) or (n_trials, 4)
        Stimulus indices ``0 .. n_stimuli - 1`` (ordered along the continuum) in presentation
        order: triads (pairs 1-2 and 2-3) or quadruples (pairs 1-2 and 3-4).
    responses : array of shape (n_trials,)
        1: the second pair was judged more different; 0: the first.
    n_stimuli : int or None, default=None
        Number of stimuli; by default the highest index plus one.
    label : str, default=""
        Whose data these are (e.g. "participant 'P01', mlds-triads in 'data.csv'"), for messages.

    Returns
    -------
    dict
        ``scale``: ndarray (n_stimuli,), the standard scale (0 at the first stimulus, 1 at the last);
        ``sigma``: the decision noise in units of the standard scale (1 / ``glm_scale[-1]``);
        ``glm_scale``: the GLM's scale, in units of sigma (R's ``pscale`` with ``method = "glm"``);
        ``log_likelihood``, ``n_trials``, ``n_stimuli``, ``fitted`` (P(response 1) per trial),
        ``iterations``.

    Raises
    ------
    DataError
        All responses the same; too few stimuli, or trials that do not determine every scale value;
        separation (some scale predicts the responses perfectly); a scale that does not rise from
        the first stimulus to the last (responses coded the other way round).
    """
    from scipy import special

    trials, responses, n_stimuli = _check_trials(trials, responses, n_stimuli)
    who = _describe(label)
    design = "mlds-triads" if trials.shape[1] == 3 else "mlds-quadruples"
    if n_stimuli < MIN_STIMULI[design]:
        raise DataError(
            f"the data{who} name {n_stimuli} stimuli; a scale from {design} needs at least"
            f" {MIN_STIMULI[design]} (MLDS usually uses 7 to 15): check the level columns, or use a continuum"
            " with more steps"
        )
    if len(responses) and (responses.min() == responses.max()):
        answer = "1 (second pair)" if responses[0] == 1 else "0 (first pair)"
        raise DataError(
            f"all {len(responses)} responses{who} are {answer}; MLDS needs both answers: check that the"
            f" response column ({RESPONSE_COLUMN}, or resp) is the one recorded and coded 1 = second pair"
            " more different, 0 = first"
        )
    full = design_matrix(trials, n_stimuli)
    missing = [str(k + 1) for k in range(n_stimuli) if not np.any(trials == k)]
    if missing:
        raise DataError(
            f"stimuli {', '.join(missing)} (of 1..{n_stimuli}) appear in no trial{who}; every stimulus of"
            " the scale must appear: check the level columns"
        )
    matrix = full[:, 1:]  # psi_1 = 0
    if np.linalg.matrix_rank(matrix) < n_stimuli - 1:
        raise DataError(
            f"the {len(trials)} trials{who} do not determine the {n_stimuli - 1} free scale values (too few"
            " different triads or quadruples); run all of them (gaia-stim trials --design mlds-...)"
        )
    beta, value, converged, iterations = _newton(matrix, responses)
    direction = None if _has_maximum(matrix, responses, beta) else _separating_direction(matrix, responses)
    if direction is not None:
        loose = [str(k + 2) for k in np.flatnonzero(np.abs(direction) > 1e-6)]
        raise DataError(
            f"the responses{who} are predicted perfectly by a scale (separation), so maximum likelihood"
            " drives the noise to zero and the scale values of stimuli"
            f" {', '.join(loose) if len(loose) <= 12 else ', '.join(loose[:12]) + ', ...'} are not"
            " determined; collect more trials (another block of all triads or quadruples)"
        )
    if not converged:
        raise DataError(
            f"the fit{who} did not converge after {iterations} Newton steps; check the data, or report it"
            " with the data file"
        )
    glm_scale = np.concatenate([[0.0], beta])
    if glm_scale[-1] <= 0:
        raise DataError(
            f"the fitted scale{who} does not rise from the first stimulus to the last (its last value is"
            f" {glm_scale[-1]:.3g} noise units): the responses do not follow the continuum. Is the response"
            " coded the other way round? 1 must mean the second pair looked more different"
        )
    eta = matrix @ beta
    return {
        "scale": glm_scale / glm_scale[-1],
        "sigma": float(1.0 / glm_scale[-1]),
        "glm_scale": glm_scale,
        "log_likelihood": float(value),
        "n_trials": int(len(responses)),
        "n_stimuli": int(n_stimuli),
        "fitted": special.ndtr(eta),
        "iterations": int(iterations),
    }


def count_runs(residuals, fitted):
    """Runs of positive and negative residuals in order of fitted value (R's ``binom.diagnostics``).

    Parameters
    ----------
    residuals, fitted : array of shape (n_trials,)
        Ties in ``fitted`` keep the order of the trials.

    Returns
    -------
    int
        The number of sign changes between neighbours (R counts these; runs = changes + 1).
    """
    order = np.argsort(np.asarray(fitted), kind="stable")
    positive = np.asarray(residuals)[order] > 0
    return int(np.count_nonzero(positive[1:] != positive[:-1]))


def _canonical_runs(residuals, eta, mirrored):
    # The predictor (not the fitted probability) is mirrored, so that repeats of one trial tie exactly
    # and keep their order, as in R.
    return count_runs(np.where(mirrored, -residuals, residuals), np.where(mirrored, -eta, eta))


def _deviance_residuals(responses, eta):
    from scipy import special

    signs = 2.0 * responses - 1.0
    return signs * np.sqrt(np.maximum(-2.0 * special.log_ndtr(signs * eta), 0.0))


def bootstrap(trials, responses, estimate, n_bootstrap=200, seed=0, ci=0.95, label=""):
    """Parametric bootstrap (R's ``boot.mlds``) with R's diagnostics (``binom.diagnostics``).

    Responses are drawn from ``estimate["fitted"]`` at the same trials with
    ``numpy.random.default_rng(seed)``, refitted, and normalised like the estimate (psi_1 = 0,
    psi_n = 1, sigma = 1 / psi_n). A sample that separates (some scale predicts it perfectly) has no
    maximum-likelihood scale: as R's ``boot.mlds`` (whose ``glm.fit`` stops with a warning) it is
    kept with the scale where Newton's method stops, which approaches the separating direction's,
    and counted. Samples whose scale does not rise to the last stimulus (or whose answers are all
    the same) cannot be normalised: they are left out and counted. Above 2 % of either, a warning.

    Parameters
    ----------
    trials, responses
        As :func:`fit`.
    estimate : dict
        :func:`fit`'s result for these data.
    n_bootstrap : int, default=200
        At least 10.
    seed : int or sequence of int, default=0
    ci : float, default=0.95
    label : str, default=""
        For the warning.

    Returns
    -------
    dict
        ``scale_interval``: ndarray (n_stimuli, 2), percentile intervals (0 and 1 exactly at the
        ends); ``sigma_interval``: (low, high), the basic (reflected) bootstrap interval of log sigma,
        because the ML sigma is biased low with few trials; ``scale_sd`` and ``sigma_sd`` (R's ``bt.sd``);
        ``runs``: the number of sign changes of the data's deviance residuals in order of fitted
        value; ``runs_p``: the fraction of samples with as many or fewer (R's ``p``);
        ``envelope``: ndarray (n_trials, 2), the pointwise ``ci`` envelope of the sorted residuals;
        ``outside_envelope``: how many of the data's sorted residuals lie outside it;
        ``n_used``, ``n_left_out`` (samples without a normalisable scale), ``n_separated`` (samples
        kept where the fit stopped); ``samples``: ``{"scale": (n_used, n_stimuli), "sigma": (n_used,)}``.
    """
    trials, responses, n_stimuli = _check_trials(trials, responses, estimate["n_stimuli"])
    if isinstance(n_bootstrap, (bool, np.bool_)) or int(n_bootstrap) != n_bootstrap or n_bootstrap < 10:
        raise InputError(f"n_bootstrap must be a whole number of at least 10; got {n_bootstrap!r}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1; got {ci!r}")
    from scipy import special

    rng = np.random.default_rng(seed)
    matrix = design_matrix(trials, n_stimuli)[:, 1:]
    # The runs test reads every trial as shown lower pair first, as R does (SwapOrder, and mlds on
    # triads): a trial shown upper pair first has its fitted value and residual mirrored.
    mirrored = trials[:, 0] > trials[:, -1]
    probability = np.asarray(estimate["fitted"])
    start = np.asarray(estimate["glm_scale"])[1:]
    scales, sigmas, runs, sorted_residuals, separated, unusable = [], [], [], [], 0, 0
    for _ in progress_bar(range(int(n_bootstrap)), description=f"bootstrap {label}".strip(), unit="fit"):
        simulated = (rng.random(len(probability)) < probability).astype(np.float64)
        if simulated.min() == simulated.max():
            unusable += 1
            continue
        beta, _, converged, _ = _newton(matrix, simulated, start)
        if not converged:
            beta, _, converged, _ = _newton(matrix, simulated)
        if not np.all(np.isfinite(beta)) or beta[-1] <= 0:
            unusable += 1
            continue
        if not _has_maximum(matrix, simulated, beta) and _separating_direction(matrix, simulated) is not None:
            separated += 1
        eta = matrix @ beta
        residuals = _deviance_residuals(simulated, eta)
        scales.append(np.concatenate([[0.0], beta]) / beta[-1])
        sigmas.append(1.0 / beta[-1])
        runs.append(_canonical_runs(residuals, eta, mirrored))
        sorted_residuals.append(np.sort(residuals))
    used = len(scales)
    if used < max(10, n_bootstrap // 2):
        raise DataError(
            f"{unusable} of {n_bootstrap} bootstrap samples{_describe(label)} gave no scale that rises from the"
            " first stimulus to the last, so the data do not determine the intervals: collect more trials"
        )
    notes = []
    if separated > 0.02 * n_bootstrap:
        notes.append(
            f"{separated} were predicted perfectly by a scale (separation) and enter with the scale where the"
            " fit stops, as in R's boot.mlds"
        )
    if unusable > 0.02 * n_bootstrap:
        notes.append(f"{unusable} gave no scale that rises to the last stimulus and were left out")
    if notes:
        warnings.warn(
            f"of {n_bootstrap} bootstrap samples{_describe(label)}, {'; '.join(notes)}: the intervals are"
            " approximate, and more trials would make them reliable",
            MLDSWarning, stacklevel=2,
        )
    scales, sigmas = np.array(scales), np.array(sigmas)
    tail = 100.0 * (1.0 - ci) / 2.0
    data_eta = matrix @ start
    data_residuals = _deviance_residuals(responses, data_eta)
    data_runs = _canonical_runs(data_residuals, data_eta, mirrored)
    envelope = np.percentile(np.array(sorted_residuals), [tail, 100.0 - tail], axis=0).T
    observed_sorted = np.sort(data_residuals)
    return {
        "scale_interval": np.percentile(scales, [tail, 100.0 - tail], axis=0).T,
        # basic bootstrap interval of log sigma: the ML sigma is biased low with few trials, and the
        # bootstrap repeats that bias; reflecting the quantiles about the estimate corrects it to first
        # order (coverage of the true sigma in benchmarks/mlds_recovery.py: 0.58 percentile, 0.97
        # this way, all 165 triads of 11 stimuli once)
        "sigma_interval": tuple(float(v) for v in np.exp(
            2.0 * math.log(estimate["sigma"]) - np.percentile(np.log(sigmas), [100.0 - tail, tail])
        )),
        "scale_sd": scales.std(axis=0, ddof=1),
        "sigma_sd": float(sigmas.std(ddof=1)),
        "runs": data_runs,
        "runs_p": float(np.mean(np.array(runs) <= data_runs)),
        "envelope": envelope,
        "outside_envelope": int(np.count_nonzero(
            (observed_sorted < envelope[:, 0]) | (observed_sorted > envelope[:, 1])
        )),
        "n_used": used,
        "n_left_out": unusable,
        "n_separated": separated,
        "samples": {"scale": scales, "sigma": sigmas},
    }


def group_scale(scales, sigmas, ci=0.95):
    """The mean of participants' standard scales, with between-participant t intervals.

    Parameters
    ----------
    scales : array of shape (n_participants, n_stimuli)
        Standard scales (0 at the first stimulus, 1 at the last), one row per participant.
    sigmas : array of shape (n_participants,)
    ci : float, default=0.95

    Returns
    -------
    dict
        ``scale`` (n_stimuli,) and ``scale_interval`` (n_stimuli, 2): the mean +- t(ci, n - 1) SD / sqrt(n);
        ``sigma`` and ``sigma_interval``: the same on log sigma, back-transformed (the geometric mean);
        ``n_participants``.
    """
    from scipy import stats

    scales = np.asarray(scales, dtype=np.float64)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if scales.ndim != 2 or len(scales) < 2 or sigmas.shape != (len(scales),):
        raise InputError("a group scale needs the scales of at least two participants, one row each, and their sigmas")
    count = len(scales)
    factor = stats.t.ppf(0.5 + ci / 2.0, count - 1) / math.sqrt(count)
    mean, spread = scales.mean(axis=0), scales.std(axis=0, ddof=1) * factor
    # sigma is positive and spread multiplicatively: its mean and interval are taken on log sigma
    log_sigmas = np.log(sigmas)
    log_mean, log_spread = float(log_sigmas.mean()), float(log_sigmas.std(ddof=1) * factor)
    return {
        "scale": mean,
        "scale_interval": np.stack([mean - spread, mean + spread], axis=1),
        "sigma": math.exp(log_mean),
        "sigma_interval": (math.exp(log_mean - log_spread), math.exp(log_mean + log_spread)),
        "n_participants": count,
    }


def index_trials(levels):
    """Stimulus indices of trials given by level: ``(trials, stimulus_levels)``.

    Parameters
    ----------
    levels : array of shape (n_trials, 3) or (n_trials, 4)
        Stimulus levels (morph levels, steps or ranks) in presentation order.

    Returns
    -------
    trials : ndarray of int, same shape
        Index of each level in ``stimulus_levels``.
    stimulus_levels : ndarray
        The distinct levels, increasing.
    """
    levels = np.asarray(levels, dtype=np.float64)
    stimulus_levels, inverse = np.unique(levels, return_inverse=True)
    return inverse.reshape(levels.shape).astype(np.int64), stimulus_levels


# --------------------------------------------------------------------------------------------
# data files


def _read_table(path):
    import pandas as pd

    try:
        table = pd.read_csv(
            path, encoding="utf-8-sig", index_col=False, skipinitialspace=True, dtype={"participant": str}
        )
    except FileNotFoundError:
        raise DataError(f"data file {path!r} does not exist") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path!r} is not a readable CSV data file ({str(error).splitlines()[0]})") from None
    # A trailing comma on every line (PsychoPy), or R's row names (write.csv), give unnamed columns.
    return table.loc[:, [not str(name).startswith("Unnamed:") for name in table.columns]]


def _r_columns(table):
    """The R package's columns (resp, S1..S3 or S1..S4; any case) of ``table``, or None."""
    by_lower = {str(name).lower(): name for name in table.columns}
    if R_RESPONSE not in by_lower or not all(name.lower() in by_lower for name in R_STIMULI[:3]):
        return None
    stimuli = [by_lower[name.lower()] for name in R_STIMULI if name.lower() in by_lower]
    return by_lower[R_RESPONSE], stimuli


def _numbers(table, columns, path, what):
    import pandas as pd

    values = table[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        cell = table[list(columns)].iloc[row, column]
        raise DataError(
            f"{path!r}: {what} column {columns[column]!r} holds {cell!r} in an answered trial (data row"
            f" {row + 1}), which is not a number; correct it or drop the row"
        )
    return values


def _responses(series, path, column):
    text = series.astype(str).str.strip().str.upper()
    coded = text.map({"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "TRUE": 1.0, "FALSE": 0.0})
    if coded.isna().any():
        bad = str(series[coded.isna()].iloc[0])
        raise DataError(
            f"{path!r}: {column} must be 1 (the second pair looked more different) or 0 (the first); found"
            f" {bad!r}: recode it"
        )
    return coded.to_numpy(dtype=np.float64)


def _participants(rows, path):
    import pandas as pd

    if "participant" in rows.columns and rows["participant"].notna().any():
        return rows["participant"].astype(str).where(rows["participant"].notna(), "")
    return pd.Series(os.path.splitext(os.path.basename(path))[0], index=rows.index)


def _read_one(path):
    """``[(design, participant, layout, levels, steps or None, responses, identity)]`` of one data file."""
    table = _read_table(path)
    identity_columns = [name for name in table.columns if str(name).endswith("_sha256")]
    groups = []
    if "design" in table.columns:
        designs = sorted({str(value) for value in table["design"].dropna().unique()} & set(MLDS_DESIGNS))
        if not designs:
            found = sorted({str(value) for value in table["design"].dropna().unique()})
            raise DataError(
                f"{path!r} holds no {' or '.join(MLDS_DESIGNS)} trials (its design column has"
                f" {', '.join(map(repr, found)) or 'nothing'}); give the data of an MLDS experiment"
            )
        for design in designs:
            rows = table[table["design"].astype(str) == design]
            if RESPONSE_COLUMN not in rows.columns:
                raise DataError(
                    f"{path!r}: {design} data need the column {RESPONSE_COLUMN!r} (1: the second pair looked"
                    " more different, 0: the first); add it, or rename the column that holds the answers"
                )
            rows = rows[rows[RESPONSE_COLUMN].notna() & (rows[RESPONSE_COLUMN].astype(str).str.strip() != "")]
            if rows.empty:
                raise DataError(f"{path!r} holds no answered {design} trials (column {RESPONSE_COLUMN!r} is empty)")
            level_columns, step_columns = LEVEL_COLUMNS[design], STEP_COLUMNS[design]
            has_levels = all(name in rows.columns for name in level_columns)
            has_steps = all(name in rows.columns for name in step_columns)
            if not has_levels and not has_steps:
                missing = [name for name in level_columns if name not in rows.columns]
                raise DataError(
                    f"{path!r}: {design} data need the columns {', '.join(level_columns)} (morph levels in"
                    f" presentation order) or {', '.join(step_columns)}; missing {', '.join(missing)}"
                )
            responses = _responses(rows[RESPONSE_COLUMN], path, RESPONSE_COLUMN)
            steps = _numbers(rows, step_columns, path, "step") if has_steps else None
            levels = _numbers(rows, level_columns, path, "level") if has_levels else None
            layout = "gaia-stim" if has_levels else "gaia-stim steps"
            for participant, mask in _split(rows, path):
                groups.append((
                    design, participant, layout,
                    (levels if levels is not None else steps)[mask],
                    None if steps is None else steps[mask],
                    responses[mask], _identity(rows[mask], identity_columns),
                ))
        return groups
    found = _r_columns(table)
    if found is None:
        raise DataError(
            f"{path!r} has neither a 'design' column (gaia-stim's layout: design, morph_1.., {RESPONSE_COLUMN})"
            " nor the R package MLDS's columns resp, S1, S2, S3[, S4]; see docs/perceptual_scaling.md"
        )
    response_column, stimulus_columns = found
    rows = table[table[response_column].notna()]
    if rows.empty:
        raise DataError(f"{path!r} holds no answered trials (column {response_column!r} is empty)")
    design = "mlds-triads" if len(stimulus_columns) == 3 else "mlds-quadruples"
    ranks = _numbers(rows, stimulus_columns, path, "stimulus")
    if np.any(ranks != np.round(ranks)) or np.any(ranks < 1):
        raise DataError(
            f"{path!r}: the R layout's {', '.join(stimulus_columns)} hold stimulus ranks 1, 2, ...; found"
            f" {ranks[(ranks != np.round(ranks)) | (ranks < 1)][0]!r}"
        )
    responses = _responses(rows[response_column], path, response_column)
    for participant, mask in _split(rows, path):
        groups.append((design, participant, "R", ranks[mask], None, responses[mask],
                       _identity(rows[mask], identity_columns)))
    return groups


def _split(rows, path):
    participants = _participants(rows, path)
    for participant in sorted(participants.unique()):
        yield participant, (participants == participant).to_numpy()


def _identity(rows, columns):
    values = {}
    for name in columns:
        found = sorted({str(v) for v in rows[name].dropna().unique()})
        if found:
            values[name] = found
    return values


def read_scale_data(paths, stimuli=None):
    """Read MLDS data files: one group of trials per (design, participant).

    Two layouts (docs/perceptual_scaling.md): gaia-stim's (a ``design`` column holding
    ``mlds-triads`` or ``mlds-quadruples``; ``morph_1..k`` or ``step_1..k`` in presentation order;
    ``chose_second_pair``; ``participant``, else the file name) and the R package MLDS's (``resp``,
    ``S1``..``S3`` or ``S1``..``S4`` with stimulus ranks from 1). Files of one participant and design
    are joined.

    Parameters
    ----------
    paths : list of str
    stimuli : list of dict or None, default=None
        The stimulus set's continuum (``step``, ``morph_level``, sorted by level), from
        ``--stimuli``: levels are checked against it, steps filled in from it, and R ranks mapped to
        its levels (rank r is its r-th level).

    Returns
    -------
    dict
        ``groups``: ``{(design, participant): {"trials", "responses", "levels", "steps", "layout"}}``
        with ``trials`` the stimulus indices, ``levels`` the distinct stimulus levels (None where
        unknown: R ranks without ``stimuli``), ``steps`` (None where unknown); ``identity``:
        ``{column: value}`` of the ``*_sha256`` columns the data carry.
    """
    if not paths:
        raise DataError("no data files given; pass one or more MLDS data files (CSV)")
    joined, identity = {}, {}
    for path in paths:
        path = os.fspath(path)
        for design, participant, layout, values, steps, responses, ids in _read_one(path):
            for name, found in ids.items():
                identity.setdefault(name, {})
                for value in found:
                    identity[name].setdefault(value, path)
            key = (design, participant)
            if key in joined:
                old = joined[key]
                if old["layout"] != layout:
                    raise DataError(
                        f"participant {participant!r}'s {design} data come in two layouts ({old['layout']} in"
                        f" {old['files'][0]!r}, {layout} in {path!r}); give them in one layout"
                    )
                old["values"] = np.concatenate([old["values"], values])
                old["steps"] = None if steps is None or old["steps"] is None else np.concatenate([old["steps"], steps])
                old["responses"] = np.concatenate([old["responses"], responses])
                old["files"].append(path)
            else:
                joined[key] = {"layout": layout, "values": values, "steps": steps, "responses": responses,
                               "files": [path]}
    for name, values in identity.items():
        if len(values) > 1:
            (first, first_file), (second, second_file) = list(values.items())[:2]
            raise DataError(
                f"the data name more than one stimulus set: column {name!r} holds {first[:12]!r}... in"
                f" {first_file!r} and {second[:12]!r}... in {second_file!r}; fit each stimulus set's data separately"
            )
    groups = {key: _resolve_group(key, group, stimuli) for key, group in joined.items()}
    return {"groups": groups, "identity": {name: next(iter(values)) for name, values in identity.items()}}


def _resolve_group(key, group, stimuli):
    design, participant = key
    where = group["files"][0]
    values, layout = group["values"], group["layout"]
    trials, distinct = index_trials(values)
    steps = None
    levels = distinct if layout == "gaia-stim" else None
    if layout == "gaia-stim" and group["steps"] is not None:
        steps = np.full(len(distinct), np.nan)
        steps[trials.reshape(-1)] = group["steps"].reshape(-1)
        for index in range(len(distinct)):
            found = np.unique(group["steps"][trials == index])
            if len(found) > 1:
                raise DataError(
                    f"{where!r}: morph level {distinct[index]!r} comes with steps"
                    f" {', '.join(map(str, found.astype(int)))}; one level must have one step: check the data file"
                )
    if layout == "gaia-stim steps":
        steps = distinct
    if stimuli is not None:
        set_levels = np.array([s["morph_level"] for s in stimuli], dtype=np.float64)
        set_steps = np.array([s["step"] for s in stimuli], dtype=np.float64)
        if layout == "R":
            if distinct.max() > len(stimuli):
                raise DataError(
                    f"{where!r}: participant {participant!r} has stimulus rank {int(distinct.max())} but the"
                    f" --stimuli set has {len(stimuli)} images; give the set the data were collected with"
                )
            positions = distinct.astype(np.int64) - 1
        else:
            reference = set_levels if layout == "gaia-stim" else set_steps
            positions = np.array([int(np.argmin(np.abs(reference - v))) for v in distinct])
            off = np.abs(reference[positions] - distinct) > 1e-9 * max(1.0, float(np.abs(reference).max()))
            if off.any():
                what = "morph level" if layout == "gaia-stim" else "step"
                raise DataError(
                    f"{where!r}: {what} {distinct[off][0]!r} of participant {participant!r} is not one of the"
                    " --stimuli set's; give the set the data were collected with"
                )
        levels, steps = set_levels[positions], set_steps[positions]
    return {
        "trials": trials, "responses": group["responses"], "levels": levels, "steps": steps,
        "ranks": distinct if layout == "R" else np.arange(1, len(distinct) + 1, dtype=np.float64),
        "layout": layout, "files": list(group["files"]),
    }


# --------------------------------------------------------------------------------------------
# the report: scale.csv, scale.png, scale.json, manifest.json


SCALE_COLUMNS = [
    "design", "participant", "fit", "n_trials", "n_participants", "stimulus", "step", "morph_level",
    "scale", "scale_ci_low", "scale_ci_high",
    "sigma", "sigma_ci_low", "sigma_ci_high",
    "runs_p", "log_likelihood", "ci_level", "n_bootstrap", "n_bootstrap_separated", "n_bootstrap_left_out", "seed",
]


def _fit_seed(seed, design, participant):
    """The bootstrap seed of one fit: the run's seed and a hash of who, so a fit's intervals do not
    depend on which other files were given."""
    return [int(seed), zlib.crc32(f"{design}\0{participant}".encode("utf-8", "backslashreplace"))]


def _cell(value):
    from gaia_stim.io.tables import spreadsheet_safe

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return spreadsheet_safe(value)


def _table_bytes(records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCALE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: _cell(record.get(name)) for name in SCALE_COLUMNS})
    return buffer.getvalue().encode("utf-8")


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _stimulus_set_record(stimulus_dir):
    """The identity of a stimulus set from its manifest: model and source sha256, the levels."""
    from gaia_stim.core.atomic import file_sha256
    from gaia_stim.designs import read_continuum

    stimulus_dir = os.path.abspath(os.fspath(stimulus_dir))
    stimuli = read_continuum(stimulus_dir)
    manifest_path = os.path.join(stimulus_dir, "manifest.json")
    try:
        with open(manifest_path, encoding="utf-8") as stream:
            manifest = json.load(stream)
        if not isinstance(manifest, dict):
            raise ValueError
    except (OSError, ValueError):
        raise DataError(
            f"--stimuli {stimulus_dir!r} has no readable manifest.json; give a stimulus set that gaia-stim wrote"
        ) from None
    model = manifest.get("model") if isinstance(manifest.get("model"), dict) else {}
    sources = [
        {"role": item.get("role"), "sha256": item.get("sha256")}
        for item in manifest.get("inputs", []) if isinstance(item, dict) and "sha256" in item
    ]
    record = {
        "folder": os.path.basename(stimulus_dir),
        "manifest_sha256": file_sha256(manifest_path),
        "table_sha256": file_sha256(os.path.join(stimulus_dir, "stimuli.csv")),
        "kind": manifest.get("kind"),
        "model_sha256": model.get("file_sha256"),
        "source_sha256": sources,
        "levels": [float(s["morph_level"]) for s in stimuli],
        "steps": [int(s["step"]) for s in stimuli],
    }
    return stimuli, record


def _check_identity(identity, set_record):
    """Refuse data whose ``*_sha256`` columns name another stimulus set or model than ``--stimuli``."""
    if set_record is None:
        return
    known = {
        "model_sha256": set_record["model_sha256"],
        "stimulus_set_sha256": set_record["manifest_sha256"],
        "manifest_sha256": set_record["manifest_sha256"],
        "table_sha256": set_record["table_sha256"],
    }
    for name, value in identity.items():
        if name in known and known[name] is not None and value != known[name]:
            raise DataError(
                f"the data's {name} ({value[:12]}...) is not the --stimuli set's ({known[name][:12]}...): the"
                " data were collected with another stimulus set; give that set"
            )


def _plot(path, fits):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    designs = sorted({fit["design"] for fit in fits})
    figure, axes = pyplot.subplots(1, len(designs), figsize=(5.2 * len(designs), 4.4), squeeze=False)
    for axis, design in zip(axes.flat, designs):
        members = [f for f in fits if f["design"] == design and f["fit"] == "participant"]
        group = next((f for f in fits if f["design"] == design and f["fit"] == "group mean"), None)
        x_label = "morph level" if all(f["levels"] is not None for f in members) else "stimulus (rank)"
        offset_step = 0.0
        if len(members) > 1:
            spans = [np.ptp(f["x"]) for f in members]
            offset_step = 0.006 * (max(spans) if spans else 1.0)
        for number, member in enumerate(members):
            x = member["x"] + (number - (len(members) - 1) / 2) * offset_step
            colour = f"C{number % 10}"
            low, high = member["interval"][:, 0], member["interval"][:, 1]
            axis.errorbar(
                x, member["scale"], yerr=[member["scale"] - low, high - member["scale"]],
                color=colour, lw=1.0 if group is not None else 1.5, alpha=0.55 if group is not None else 1.0,
                marker="o", ms=3, capsize=2,
                label=f"{member['participant']} (sigma {member['sigma']:.3f})" if len(members) <= 10 else None,
            )
        if group is not None:
            axis.fill_between(group["x"], group["interval"][:, 0], group["interval"][:, 1], color="black",
                              alpha=0.15, lw=0)
            axis.plot(group["x"], group["scale"], color="black", lw=2.2, marker="o", ms=4,
                      label=f"mean of {group['n_participants']} (sigma {group['sigma']:.3f})")
        first, last = min(float(m["x"][0]) for m in members), max(float(m["x"][-1]) for m in members)
        axis.plot([first, last], [0.0, 1.0], color="grey", ls="--", lw=0.9,
                  label="equal steps in " + ("morph level" if x_label == "morph level" else "rank"))
        axis.set_xlabel(x_label, fontsize=9)
        axis.set_ylabel("perceptual scale (0 at the first stimulus, 1 at the last)", fontsize=9)
        axis.set_title(f"{design}: MLDS scale, {round(100 * fits[0]['ci'])}% intervals", fontsize=10)
        axis.set_ylim(min(-0.05, min(float(np.min(f["interval"])) for f in members) - 0.03),
                      max(1.05, max(float(np.max(f["interval"])) for f in members) + 0.03))
        axis.tick_params(labelsize=8)
        axis.legend(fontsize=7, loc="best", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    pyplot.close(figure)
    with open(path, "wb") as stream:
        stream.write(buffer.getvalue())


def _versions():
    import matplotlib
    import numpy
    import pandas
    import scipy

    return {"gaia_stim": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "pandas": pandas.__version__, "matplotlib": matplotlib.__version__}


def analyze_scale(paths, out_dir, n_bootstrap=200, seed=0, ci=0.95, stimulus_dir=None, plot=True, force=False):
    """Fit an MLDS scale for every participant (and their mean, per design); write the folder ``out_dir``.

    Parameters
    ----------
    paths : list of str
        MLDS data files (docs/perceptual_scaling.md: gaia-stim's layout or the R package's).
    out_dir : str
        The folder to write: ``scale.csv`` (one row per fit and stimulus), ``scale.png``,
        ``scale.json`` (the record: seed, versions, inputs' sha256, stimulus set, every fit) and
        ``manifest.json`` (the files, for ``--force``). Written whole or not at all.
    n_bootstrap : int, default=200
        Parametric bootstrap samples per participant (intervals and the runs test).
    seed : int, default=0
        The bootstrap's seed; each fit draws from ``(seed, crc32(design, participant))``.
    ci : float, default=0.95
    stimulus_dir : str or None, default=None
        The stimulus set the data were collected with: its manifest's model and source sha256 and
        its levels are recorded, data levels are checked against it, R ranks mapped to its levels.
    plot : bool, default=True
    force : bool, default=False
        Replace ``out_dir`` if it is a scale folder gaia-stim wrote (unchanged since).

    Returns
    -------
    list of dict
        One summary per fit: ``design``, ``participant``, ``fit`` ("participant" or "group mean"),
        ``n_trials``, ``sigma``, ``sigma_interval``, ``runs_p``, ``n_left_out``.
    """
    from gaia_stim.core.atomic import file_sha256
    from gaia_stim.core.ownership import MANIFEST_FILE, commit_folder, discard_folder, staging_folder

    if isinstance(seed, (bool, np.bool_)) or int(seed) != seed or not 0 <= seed < 2**63:
        raise InputError(f"seed must be a whole number from 0 to 2^63 - 1; got {seed!r}")
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1; got {ci!r}")
    paths = [os.fspath(p) for p in paths]
    stimuli, set_record = (None, None) if stimulus_dir is None else _stimulus_set_record(stimulus_dir)
    data = read_scale_data(paths, stimuli)
    _check_identity(data["identity"], set_record)
    out_path, temporary = staging_folder(out_dir, force, FOLDER_FORMAT, FOLDER_WHAT)
    try:
        fits, records, summaries = [], [], []
        for key in sorted(data["groups"]):
            design, participant = key
            group = data["groups"][key]
            label = f"participant {participant!r}, {design} in {group['files'][0]!r}"
            estimate = fit(group["trials"], group["responses"], n_stimuli=len(group["ranks"]), label=label)
            intervals = bootstrap(group["trials"], group["responses"], estimate, n_bootstrap=n_bootstrap,
                                  seed=_fit_seed(seed, design, participant), ci=ci, label=label)
            x = group["levels"] if group["levels"] is not None else group["ranks"]
            fits.append({
                "design": design, "participant": participant, "fit": "participant", "n_trials": estimate["n_trials"],
                "n_participants": 1, "levels": group["levels"], "steps": group["steps"], "ranks": group["ranks"],
                "x": np.asarray(x, dtype=np.float64), "scale": estimate["scale"],
                "interval": intervals["scale_interval"], "sigma": estimate["sigma"],
                "sigma_interval": intervals["sigma_interval"], "runs": intervals["runs"],
                "runs_p": intervals["runs_p"], "outside_envelope": intervals["outside_envelope"],
                "log_likelihood": estimate["log_likelihood"], "glm_scale": estimate["glm_scale"],
                "n_used": intervals["n_used"], "n_left_out": intervals["n_left_out"],
                "n_separated": intervals["n_separated"], "ci": ci,
                "files": group["files"], "layout": group["layout"],
            })
        for design in sorted({f["design"] for f in fits}):
            members = [f for f in fits if f["design"] == design]
            if len(members) < 2:
                continue
            stimulus_key = [None if f["levels"] is None else tuple(f["levels"]) for f in members]
            rank_key = [tuple(f["ranks"]) for f in members]
            if len(set(stimulus_key)) > 1 or len(set(rank_key)) > 1:
                warnings.warn(
                    f"the {design} participants were shown different stimuli (levels or numbers of stimuli"
                    " differ), so no group mean is given; fit the data of one stimulus set together",
                    MLDSWarning, stacklevel=2,
                )
                continue
            mean = group_scale([f["scale"] for f in members], [f["sigma"] for f in members], ci=ci)
            fits.append({
                "design": design, "participant": GROUP, "fit": "group mean",
                "n_trials": sum(f["n_trials"] for f in members), "n_participants": mean["n_participants"],
                "levels": members[0]["levels"], "steps": members[0]["steps"], "ranks": members[0]["ranks"],
                "x": members[0]["x"], "scale": mean["scale"], "interval": mean["scale_interval"],
                "sigma": mean["sigma"], "sigma_interval": mean["sigma_interval"], "runs_p": None,
                "log_likelihood": None, "n_used": None, "n_left_out": None, "n_separated": None, "ci": ci,
            })
        for f in fits:
            for index in range(len(f["scale"])):
                records.append({
                    "design": f["design"], "participant": f["participant"], "fit": f["fit"],
                    "n_trials": f["n_trials"], "n_participants": f["n_participants"],
                    "stimulus": int(f["ranks"][index]),
                    "step": None if f["steps"] is None else int(f["steps"][index]),
                    "morph_level": None if f["levels"] is None else float(f["levels"][index]),
                    "scale": float(f["scale"][index]),
                    "scale_ci_low": float(f["interval"][index, 0]), "scale_ci_high": float(f["interval"][index, 1]),
                    "sigma": f["sigma"],
                    "sigma_ci_low": f["sigma_interval"][0], "sigma_ci_high": f["sigma_interval"][1],
                    "runs_p": f["runs_p"], "log_likelihood": f["log_likelihood"], "ci_level": ci,
                    "n_bootstrap": n_bootstrap if f["fit"] == "participant" else None,
                    "n_bootstrap_separated": f["n_separated"], "n_bootstrap_left_out": f["n_left_out"],
                    "seed": seed,
                })
            summaries.append({
                "design": f["design"], "participant": f["participant"], "fit": f["fit"], "n_trials": f["n_trials"],
                "n_participants": f["n_participants"], "sigma": f["sigma"], "sigma_interval": f["sigma_interval"],
                "runs_p": f["runs_p"], "n_left_out": f["n_left_out"],
            })
        table = _table_bytes(records)
        with open(os.path.join(temporary, SCALE_FILE), "wb") as stream:
            stream.write(table)
        files = [SCALE_FILE]
        if plot:
            _plot(os.path.join(temporary, PLOT_FILE), fits)
            files.append(PLOT_FILE)
        record = {
            "format": RECORD_FORMAT,
            "format_version": 1,
            "versions": _versions(),
            "method": {
                "model": "P(second pair more different) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma)",
                "fit": "probit GLM without intercept, psi_1 = 0 (R package MLDS, mlds(method = 'glm', lnk = 'probit'))",
                "scale": "standard scale: psi_1 = 0, psi_n = 1; sigma = 1 / psi_n of the GLM scale",
                "intervals": "percentile intervals of a parametric bootstrap (R's boot.mlds)",
                "runs_p": "fraction of bootstrap samples with as few sign changes of the deviance residuals"
                          " in order of fitted value or fewer (R's binom.diagnostics)",
                "group": "mean of the participants' standard scales, intervals mean +- t SD / sqrt(n);"
                         " sigma: the same on log sigma",
            },
            "seed": int(seed),
            "n_bootstrap": int(n_bootstrap),
            "ci_level": ci,
            "inputs": [{"file": p, "sha256": file_sha256(p)} for p in paths],
            "stimulus_set": {
                "from_data": data["identity"] or None,
                "from_stimuli_option": set_record,
            },
            "fits": [
                {
                    "design": f["design"], "participant": f["participant"], "fit": f["fit"],
                    "n_trials": f["n_trials"], "n_participants": f["n_participants"],
                    "stimulus": [int(r) for r in f["ranks"]],
                    "step": None if f["steps"] is None else [int(s) for s in f["steps"]],
                    "morph_level": None if f["levels"] is None else [float(v) for v in f["levels"]],
                    "scale": [float(v) for v in f["scale"]],
                    "scale_ci_low": [float(v) for v in f["interval"][:, 0]],
                    "scale_ci_high": [float(v) for v in f["interval"][:, 1]],
                    "sigma": _number(f["sigma"]),
                    "sigma_ci": [_number(f["sigma_interval"][0]), _number(f["sigma_interval"][1])],
                    **({
                        "glm_scale": [float(v) for v in f["glm_scale"]],
                        "log_likelihood": f["log_likelihood"],
                        "runs": f["runs"], "runs_p": f["runs_p"],
                        "residuals_outside_envelope": f["outside_envelope"],
                        "n_bootstrap_used": f["n_used"], "n_bootstrap_separated": f["n_separated"],
                        "n_bootstrap_left_out": f["n_left_out"],
                        "layout": f["layout"], "files": f["files"],
                    } if f["fit"] == "participant" else {}),
                }
                for f in fits
            ],
        }
        text = json.dumps(record, indent=2, allow_nan=False) + "\n"
        with open(os.path.join(temporary, RECORD_FILE), "w", encoding="utf-8") as stream:
            stream.write(text)
        files.append(RECORD_FILE)
        manifest = {
            "format": FOLDER_FORMAT,
            "format_version": 1,
            "gaia_stim_version": __version__,
            "files": [{"file": name, "sha256": file_sha256(os.path.join(temporary, name))} for name in files],
        }
        with open(os.path.join(temporary, MANIFEST_FILE), "w", encoding="utf-8") as stream:
            stream.write(json.dumps(manifest, indent=2) + "\n")
        commit_folder(temporary, out_path, force, FOLDER_FORMAT, FOLDER_WHAT)
    except BaseException:
        discard_folder(temporary)
        raise
    logger.info("wrote %s", out_dir)
    return summaries


# --------------------------------------------------------------------------------------------
# reading a scale folder back (continuum --spacing perceptual)


def read_scale(path, participant=None):
    """One fit of a scale folder that ``gaia-stim scale`` wrote: its levels, its scale, and what it was measured on.

    Parameters
    ----------
    path : str or path-like
        The scale folder, or its ``scale.csv`` (``scale.json`` beside it holds the record).
    participant : str or None, default=None
        Whose scale: a participant's ID, or ``"group"`` for the group mean. By default the group
        mean, or the only participant of a folder without one.

    Returns
    -------
    dict
        ``table`` (the scale.csv read) and ``table_sha256``; ``record`` (scale.json, or None when it
        is not there) and ``record_sha256``; ``design``, ``participant``, ``fit``; ``levels`` and
        ``scale``, ndarrays of shape (n_stimuli,), increasing levels; ``stimulus_set`` (the record's
        ``from_stimuli_option``: model and source sha256 of the set measured, or None),
        ``data_identity`` (the record's ``from_data``, or None) and ``record_agrees`` (the record
        holds this fit with the same levels and values as the table; False without a record).

    Raises
    ------
    DataError
        The file is missing or not a scale table, or the fit's stimuli have no morph levels.
    InputError
        ``participant`` is not in the table, or the default is ambiguous.
    """
    from gaia_stim.core.atomic import file_sha256

    path = os.fspath(path)
    table = os.path.join(path, SCALE_FILE) if os.path.isdir(path) else path
    if os.path.basename(table) == RECORD_FILE:
        table = os.path.join(os.path.dirname(table), SCALE_FILE)
    try:
        with open(table, encoding="utf-8-sig", newline="") as stream:
            rows = list(csv.DictReader(stream))
    except FileNotFoundError:
        raise DataError(f"scale file {table!r} does not exist; give a folder written by gaia-stim scale, or its"
                        f" {SCALE_FILE}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read scale file {table!r} ({error}); give the {SCALE_FILE} gaia-stim scale wrote") from None
    needed = ("design", "participant", "fit", "morph_level", "scale")
    if not rows or any(name not in rows[0] for name in needed):
        raise DataError(f"{table!r} is not a scale table written by gaia-stim scale (it needs the columns"
                        f" {', '.join(needed)}); give the {SCALE_FILE} of a scale folder")
    fits = {}
    for row in rows:
        fits.setdefault((row["design"], row["participant"]), []).append(row)
    who = sorted({key[1] for key in fits})
    if participant is None:
        chosen = [key for key in fits if key[1] == GROUP] or (list(fits) if len(who) == 1 else [])
        if not chosen:
            raise InputError(f"{table!r} holds {len(who)} participants and no group mean; choose one with"
                             f" --scale-participant ({', '.join(map(repr, who[:8]))}{', ...' if len(who) > 8 else ''})")
    else:
        chosen = [key for key in fits if key[1] == str(participant)]
        if not chosen:
            raise InputError(f"--scale-participant {participant!r} is not in {table!r}; it holds"
                             f" {', '.join(map(repr, who[:8]))}{', ...' if len(who) > 8 else ''}")
    if len(chosen) > 1:
        raise InputError(f"{table!r} holds {chosen[0][1]!r}'s scale for {len(chosen)} designs"
                         f" ({', '.join(key[0] for key in sorted(chosen))}); fit each design into its own scale folder")
    design, who = chosen[0]
    try:
        levels = np.array([float(row["morph_level"]) for row in fits[chosen[0]]])
        scale = np.array([float(row["scale"]) for row in fits[chosen[0]]])
    except ValueError:
        raise DataError(f"{table!r}: the {design} scale of {who!r} has no morph levels (the data gave stimulus"
                        " ranks); fit it again with gaia-stim scale --stimuli SET to give it the set's levels") from None
    if not (np.all(np.isfinite(levels)) and np.all(np.isfinite(scale))) or np.any(np.diff(levels) <= 0):
        raise DataError(f"{table!r}: the {design} scale of {who!r} needs finite values at increasing morph levels;"
                        " give the table gaia-stim scale wrote")
    found = {"table": table, "table_sha256": file_sha256(table), "record": None, "record_sha256": None,
             "design": design, "participant": who, "fit": fits[chosen[0]][0]["fit"], "levels": levels,
             "scale": scale, "stimulus_set": None, "data_identity": None, "record_agrees": False}
    record_path = os.path.join(os.path.dirname(table), RECORD_FILE)
    if os.path.isfile(record_path):
        try:
            with open(record_path, encoding="utf-8") as stream:
                record = json.load(stream)
            sets = record["stimulus_set"]
            fit_record = next(f for f in record["fits"] if f["design"] == design and f["participant"] == who)
            found.update(
                record=record_path, record_sha256=file_sha256(record_path),
                stimulus_set=sets.get("from_stimuli_option"), data_identity=sets.get("from_data"),
                record_agrees=(fit_record.get("morph_level") == levels.tolist()
                               and fit_record.get("scale") == scale.tolist()),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
            raise DataError(f"{record_path!r} is not the record gaia-stim scale wrote beside {table!r}; restore it,"
                            " or fit the scale again") from None
    return found
