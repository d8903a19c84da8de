"""MLDS, the model and its fit: a perceptual scale from "which pair differs more?".

Maximum likelihood difference scaling: the observer model, its likelihood, the maximum-likelihood
fit (Newton's method, with separation detected), the parametric bootstrap with R's runs
diagnostic, and the group mean. The data files are :mod:`gaia_stim.analysis.mlds_data`'s, the
scale folder :mod:`gaia_stim.analysis.mlds_report`'s.

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

import math
import warnings

import numpy as np

from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.progress import progress_bar
from gaia_stim.designs.mlds_trials import MIN_STIMULI, RESPONSE_COLUMN

__all__ = [
    "MLDSWarning", "pair_indices", "design_matrix", "observer_probability", "simulate_responses", "log_likelihood",
    "fit", "bootstrap", "group_scale", "count_runs",
]

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


# --------------------------------------------------------------------------------------------
# the maximum-likelihood fit


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


# --------------------------------------------------------------------------------------------
# the parametric bootstrap and R's runs diagnostic; the group mean


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

