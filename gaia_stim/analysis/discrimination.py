"""Discrimination along a continuum: observed per pair, as d', and against the labelling prediction.

Three steps, each a pure function of trial arrays (the level columns and coded response of
``DESIGN_COLUMNS[design]``, as :func:`gaia_stim.analysis.read_data_files` returns them):

1. :func:`pair_table`: per pair of morph levels, the trials, the proportion correct with a
   binomial interval (Wilson score or Clopper-Pearson), hits and false alarms, and d'.
2. d' with each design's own decision model (Macmillan & Creelman 2005, *Detection Theory: A
   User's Guide*, 2nd ed., ch. 7 and 9). For a pair whose two images give N(0, 1) and N(d', 1):

   - 2AFC, unbiased observer: Pc = Phi(d' / sqrt 2), so d' = sqrt 2 z(Pc); with a side bias,
     d' = (z(H) - z(F)) / sqrt 2, H = P("left" | lower level on the left), F = P("left" | lower
     level on the right). :func:`pair_table` uses the rates when both orders were shown.
   - ABX, **differencing model** (the observer answers with whichever of A and B is nearer X;
     the model for roving designs, where many pairs are mixed in a block, as gaia-stim's are):
     Pc = Phi(d'/sqrt 2) Phi(d'/sqrt 6) + Phi(-d'/sqrt 2) Phi(-d'/sqrt 6).
     The independent-observation model (optimal for a fixed pair) is available as
     ``model="independent"``: Pc = Phi(d'/sqrt 2) Phi(d'/2) + Phi(-d'/sqrt 2) Phi(-d'/2).
     Both are inverted numerically (Pc rises monotonically from 1/2 at d' = 0).
   - same-different, **differencing model**: "different" when |x1 - x2| > k, so
     F = 2 Phi(-k / sqrt 2) and H = Phi((d' - k) / sqrt 2) + Phi((-d' - k) / sqrt 2); k comes from
     F in closed form and d' from H numerically. H <= F gives d' = 0.

   Observed rates of 0 or 1 have no finite z: every observed rate that goes into a d' is
   corrected **log-linearly** (Hautus 1995): (successes + 0.5) / (trials + 1), in every cell,
   not only the extreme ones. Proportions and their intervals are reported uncorrected.
3. :func:`excess_table` and :func:`excess_tests`: discrimination predicted from identification
   by the covert-labelling model (Liberman et al. 1957; Pollack & Pisoni 1971), observed beside
   predicted per pair, and the excess (observed - predicted) with bootstrap intervals and
   likelihood-ratio tests. The prediction is the design's own observer model,
   :func:`gaia_stim.analysis.psychometric.response_probability`, at the identification fit's
   pse, slope and lapse, averaged over the very trials observed (with the same weights as the
   observed proportion).

A *pair* is two different morph levels (low, high). Its trials: 2AFC and ABX trials showing those
two levels, in any order (and, for ABX, either X); same-different "different" trials of those two
levels in either order, plus every "same" trial showing the low or the high level (so a same
trial at a level in two pairs counts in both). A *correct* same-different trial is "different" to
a different pair and "same" to a same pair; a same-different pair's proportion correct is
(H + 1 - F) / 2, with F the mean of its two levels' false-alarm rates, so that "same" and
"different" trials, and the two levels, count equally (the proportion correct of an unbiased
list with half the trials "same", as ``gaia-stim trials`` writes them).

:func:`discrimination_curve` gives a fitted curve over the pairs' mean level on a grid, whatever
the spacing of the levels (with ``--spacing equal`` no two pairs have the same level difference).
"""

import math

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from gaia_stim.analysis import psychometric
from gaia_stim.core.errors import InputError
from gaia_stim.core.progress import progress_bar

__all__ = [
    "DISCRIMINATION_DESIGNS", "ABX_MODELS", "INTERVALS", "PAIR_COLUMNS", "EXCESS_COLUMNS",
    "binomial_interval", "log_linear_rate",
    "two_afc_proportion_correct", "d_prime_2afc", "d_prime_2afc_rates",
    "abx_proportion_correct", "d_prime_abx",
    "same_different_rates", "d_prime_same_different",
    "pair_table", "predicted_proportion_correct", "excess_table", "excess_tests", "excess_analysis",
    "boundary_proximity", "discrimination_curve",
]

DISCRIMINATION_DESIGNS = ("2afc", "abx", "same-different")
ABX_MODELS = ("differencing", "independent")
INTERVALS = ("wilson", "exact")

# d' beyond this is reported as this: a proportion correct of 1 - 1e-6 or more (a cap, not a fit).
MAX_D_PRIME = 10.0

PAIR_COLUMNS = [
    "design", "level_low", "level_high", "mean_level", "difference", "separation",
    "n_trials", "n_correct", "proportion_correct", "pc_ci_low", "pc_ci_high",
    "n_signal", "hits", "hit_rate", "hit_ci_low", "hit_ci_high",
    "n_noise", "false_alarms", "false_alarm_rate", "fa_ci_low", "fa_ci_high",
    "d_prime",
]

EXCESS_COLUMNS = PAIR_COLUMNS + [
    "predicted_pc", "predicted_hit_rate", "predicted_false_alarm_rate", "predicted_d_prime",
    "excess", "boundary_proximity",
    "observed_boot_low", "observed_boot_high", "predicted_ci_low", "predicted_ci_high",
    "excess_ci_low", "excess_ci_high", "excess_p",
]


# ------------------------------------------------------------------------------------------------
# Binomial intervals and rates

def _check_ci(ci):
    if not (isinstance(ci, (int, float)) and 0 < ci < 1):
        raise InputError(f"ci must be between 0 and 1 (e.g. 0.95); got {ci!r}")


def binomial_interval(successes, n, ci=0.95, method="wilson"):
    """Confidence interval of a binomial proportion.

    Parameters
    ----------
    successes, n : int or array of int
        Successes and trials (``0 <= successes <= n``); ``n = 0`` gives NaN.
    ci : float, default=0.95
        Coverage.
    method : {"wilson", "exact"}, default="wilson"
        Wilson score interval, or Clopper-Pearson (the exact interval from the beta quantiles).

    Returns
    -------
    low, high : ndarray
        The interval's ends, of the broadcast shape of ``successes`` and ``n``.

    Raises
    ------
    InputError
        A method not in ``INTERVALS``, ``ci`` outside (0, 1), or counts that are not counts.
    """
    _check_ci(ci)
    if method not in INTERVALS:
        raise InputError(f"interval must be one of {', '.join(INTERVALS)}; got {method!r}")
    k, n = np.broadcast_arrays(np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64))
    if np.any(k < 0) or np.any(k > n):
        raise InputError("successes must lie between 0 and the number of trials")
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wilson":
            z = special.ndtri(0.5 + ci / 2)
            centre = (k + z * z / 2) / (n + z * z)
            half = z / (n + z * z) * np.sqrt(k * (n - k) / n + z * z / 4)
            low, high = centre - half, centre + half
        else:
            alpha = 1 - ci
            low = np.where(k > 0, special.betaincinv(k, n - k + 1, alpha / 2), 0.0)
            high = np.where(k < n, special.betaincinv(k + 1, n - k, 1 - alpha / 2), 1.0)
    empty = n == 0
    low = np.where(empty, np.nan, np.clip(low, 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(high, 0.0, 1.0))
    return low, high


def log_linear_rate(successes, n):
    """The log-linear corrected rate (successes + 0.5) / (n + 1) (Hautus 1995); NaN where n = 0."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, (k + 0.5) / (n + 1.0), np.nan)


def _rates(values, name):
    values = np.asarray(values, dtype=np.float64)
    if np.any((values < 0) | (values > 1)):
        raise InputError(f"{name} must lie between 0 and 1; got {values[(values < 0) | (values > 1)].flat[0]!r}")
    return values


# ------------------------------------------------------------------------------------------------
# d' per design

def two_afc_proportion_correct(d_prime):
    """Pc of an unbiased 2AFC observer: Phi(d' / sqrt 2)."""
    return special.ndtr(np.asarray(d_prime, dtype=np.float64) / math.sqrt(2.0))


def d_prime_2afc(proportion_correct):
    """d' of an unbiased 2AFC observer: sqrt 2 z(Pc) (Macmillan & Creelman 2005, ch. 7).

    Parameters
    ----------
    proportion_correct : float or array
        In [0, 1]; correct 0 and 1 yourself (:func:`log_linear_rate`): they give -inf and inf.

    Returns
    -------
    ndarray
        d', negative below Pc = 1/2.
    """
    pc = _rates(proportion_correct, "proportion correct")
    with np.errstate(divide="ignore"):
        return math.sqrt(2.0) * special.ndtri(pc)


def d_prime_2afc_rates(hit_rate, false_alarm_rate):
    """d' of a 2AFC observer with a side bias: (z(H) - z(F)) / sqrt 2.

    ``H`` = P("left" | the lower level on the left), ``F`` = P("left" | the lower level on the
    right). Equals :func:`d_prime_2afc` of Pc = (H + 1 - F) / 2 when there is no bias.
    """
    h, f = _rates(hit_rate, "hit rate"), _rates(false_alarm_rate, "false-alarm rate")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (special.ndtri(h) - special.ndtri(f)) / math.sqrt(2.0)


def abx_proportion_correct(d_prime, model="differencing"):
    """Pc of an unbiased ABX observer (Macmillan & Creelman 2005, ch. 9).

    Parameters
    ----------
    d_prime : float or array
    model : {"differencing", "independent"}, default="differencing"
        differencing: Phi(d'/sqrt 2) Phi(d'/sqrt 6) + Phi(-d'/sqrt 2) Phi(-d'/sqrt 6);
        independent observation: Phi(d'/sqrt 2) Phi(d'/2) + Phi(-d'/sqrt 2) Phi(-d'/2).

    Returns
    -------
    ndarray
    """
    if model not in ABX_MODELS:
        raise InputError(f"ABX model must be one of {', '.join(ABX_MODELS)}; got {model!r}")
    d = np.asarray(d_prime, dtype=np.float64)
    second = math.sqrt(6.0) if model == "differencing" else 2.0
    a, b = special.ndtr(d / math.sqrt(2.0)), special.ndtr(d / second)
    return a * b + (1 - a) * (1 - b)


def _invert_increasing(function, targets, low_value):
    """d' in [0, MAX_D_PRIME] with function(d') = target, elementwise; 0 at or below ``low_value``."""
    targets = np.asarray(targets, dtype=np.float64)
    top = float(function(MAX_D_PRIME))
    out = np.empty(targets.shape)
    for index, target in np.ndenumerate(targets):
        if not np.isfinite(target):
            out[index] = np.nan
        elif target <= low_value:
            out[index] = 0.0
        elif target >= top:
            out[index] = MAX_D_PRIME
        else:
            out[index] = optimize.brentq(lambda d: float(function(d)) - target, 0.0, MAX_D_PRIME, xtol=1e-10)
    return out


def d_prime_abx(proportion_correct, model="differencing"):
    """d' from an ABX proportion correct, inverting :func:`abx_proportion_correct` numerically.

    Pc at or below 1/2 gives 0 (the model has no negative d'); Pc above the model's value at
    ``MAX_D_PRIME`` gives ``MAX_D_PRIME``.
    """
    pc = _rates(proportion_correct, "proportion correct")
    abx_proportion_correct(0.0, model)  # checks the model name
    return _invert_increasing(lambda d: abx_proportion_correct(d, model), pc, 0.5)


def same_different_rates(d_prime, criterion):
    """Hit and false-alarm rates of the same-different differencing observer.

    The observer says "different" when |x1 - x2| > ``criterion``, with x1 - x2 ~ N(+-d', 2) on a
    different trial and N(0, 2) on a same trial (Macmillan & Creelman 2005, ch. 9).

    Returns
    -------
    hit_rate, false_alarm_rate : ndarray
    """
    d = np.asarray(d_prime, dtype=np.float64)
    k = np.asarray(criterion, dtype=np.float64)
    root2 = math.sqrt(2.0)
    hits = special.ndtr((d - k) / root2) + special.ndtr((-d - k) / root2)
    return hits, 2.0 * special.ndtr(-k / root2) + 0.0 * d


def d_prime_same_different(hit_rate, false_alarm_rate):
    """d' of the same-different differencing model from hit and false-alarm rates.

    The criterion is k = -sqrt 2 z(F / 2); d' solves H = Phi((d' - k)/sqrt 2) + Phi((-d' - k)/sqrt 2).
    H <= F gives 0; F of 0 or 1 (correct them first, :func:`log_linear_rate`) give NaN.

    Returns
    -------
    ndarray
    """
    h, f = np.broadcast_arrays(_rates(hit_rate, "hit rate"), _rates(false_alarm_rate, "false-alarm rate"))
    out = np.empty(h.shape)
    for index in np.ndindex(h.shape):
        hit, alarm = float(h[index]), float(f[index])
        if not (np.isfinite(hit) and np.isfinite(alarm)) or alarm <= 0 or alarm >= 1:
            out[index] = np.nan
            continue
        criterion = -math.sqrt(2.0) * float(special.ndtri(alarm / 2))
        out[index] = _invert_increasing(lambda d: same_different_rates(d, criterion)[0], np.array(hit), alarm)
    return out


# ------------------------------------------------------------------------------------------------
# Trials -> pairs

def _check_design(design):
    if design not in DISCRIMINATION_DESIGNS:
        raise InputError(
            f"discrimination analysis takes the designs {', '.join(DISCRIMINATION_DESIGNS)}; got {design!r}"
            + (" (identification data are what the prediction is made from)" if design == "identification" else "")
        )


def _key(values):
    # Levels read from CSV files: equal levels may differ in the last bits of a float.
    return np.round(np.asarray(values, dtype=np.float64), 9)


def _trials(design, levels, responses):
    """Per trial: low, high, same, correct (0/1), and the original levels; checked."""
    _check_design(design)
    n_columns = len(psychometric.DESIGN_COLUMNS[design]) - 1
    levels = np.asarray(levels, dtype=np.float64)
    responses = np.asarray(responses, dtype=np.float64)
    if levels.ndim != 2 or levels.shape != (len(responses), n_columns):
        raise InputError(
            f"{design} needs levels of shape (n_trials, {n_columns}) (the columns"
            f" {', '.join(psychometric.DESIGN_COLUMNS[design][:-1])}); got {levels.shape}"
        )
    if len(responses) == 0:
        raise InputError(f"no {design} trials given")
    if not np.all(np.isfinite(levels)):
        raise InputError("morph levels must be finite numbers")
    if not np.all((responses == 0) | (responses == 1)):
        raise InputError(f"{psychometric.DESIGN_COLUMNS[design][-1]} must be coded 0 or 1")
    first, second = _key(levels[:, 0]), _key(levels[:, 1])
    low, high = np.minimum(first, second), np.maximum(first, second)
    same = low == high
    if design in ("2afc", "abx") and np.any(same):
        raise InputError(f"a {design} trial shows the same level twice ({low[same][0]}); each trial needs two levels")
    if design == "abx":
        x = _key(levels[:, 2])
        if np.any((x != first) & (x != second)):
            raise InputError("an abx trial's morph_x is neither its morph_a nor its morph_b")
    correct = np.where(same, 1.0 - responses, responses) if design == "same-different" else responses
    if not np.any(~same):
        raise InputError(f"the {design} data hold no trial with two different levels, so no pair to analyse")
    return {"low": low, "high": high, "same": same, "correct": correct, "levels": levels, "responses": responses}


def _pairs(trials):
    """The pairs (sorted), a membership matrix (pairs x trials) and the signal/noise masks.

    Signal trials of a pair are its different trials; for same-different the noise trials are the
    same trials at either of its levels (2AFC's signal/noise are set by the caller).
    """
    low, high, same = trials["low"], trials["high"], trials["same"]
    pairs = np.unique(np.stack([low[~same], high[~same]], axis=1), axis=0)
    signal = (low[None, :] == pairs[:, :1]) & (high[None, :] == pairs[:, 1:]) & ~same[None, :]
    noise = same[None, :] & ((low[None, :] == pairs[:, :1]) | (low[None, :] == pairs[:, 1:]))
    return pairs, signal, noise


def _separations(pairs):
    """Step separation of each pair: the difference of its levels' ranks among all pair levels."""
    levels = np.unique(pairs)
    return np.searchsorted(levels, pairs[:, 1]) - np.searchsorted(levels, pairs[:, 0])


def _pair_masks(design, trials):
    pairs, signal, noise = _pairs(trials)
    if design == "2afc":
        low_on_left = _key(trials["levels"][:, 0]) < _key(trials["levels"][:, 1])
        noise = signal & ~low_on_left[None, :]
        signal = signal & low_on_left[None, :]
    return pairs, signal, noise


def _d_prime(design, hit_rate, false_alarm_rate, proportion_correct, abx_model):
    """d' per pair from (already corrected) rates; NaN-safe."""
    if design == "2afc":
        both = np.isfinite(hit_rate) & np.isfinite(false_alarm_rate)
        from_rates = d_prime_2afc_rates(np.where(both, hit_rate, 0.5), np.where(both, false_alarm_rate, 0.5))
        return np.where(both, from_rates, d_prime_2afc(proportion_correct))
    if design == "abx":
        return d_prime_abx(proportion_correct, abx_model)
    valid = np.isfinite(hit_rate) & np.isfinite(false_alarm_rate)
    out = np.full(len(hit_rate), np.nan)
    if np.any(valid):
        out[valid] = d_prime_same_different(hit_rate[valid], false_alarm_rate[valid])
    return out


def _pair_weights(design, trials, pairs, signal, noise):
    """Weights (pairs x trials, rows summing to 1) that make each pair's proportion correct.

    2AFC and ABX: every trial of the pair equally. Same-different: half on the different trials,
    a quarter on the same trials at each of the pair's two levels (all of them at the level on
    its own, if the other level has none), so "same" and "different" count equally and so do
    the two levels, however many pairs share a level.
    """
    signal, noise = signal.astype(np.float64), noise.astype(np.float64)
    if design != "same-different":
        used = signal + noise
        return used / used.sum(axis=1, keepdims=True)
    low_level, high_level = _level_masks(trials, pairs)
    n_low, n_high = low_level.sum(axis=1, keepdims=True), high_level.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_low = np.where(n_high > 0, 0.5, 1.0) * np.where(n_low > 0, 1.0, 0.0)
        share_high = np.where(n_low > 0, 0.5, 1.0) * np.where(n_high > 0, 1.0, 0.0)
        same_part = (np.nan_to_num(low_level / n_low) * share_low + np.nan_to_num(high_level / n_high) * share_high)
        has_same = (n_low + n_high) > 0
        return np.where(has_same, 0.5, 1.0) * signal / signal.sum(axis=1, keepdims=True) + 0.5 * same_part


def _level_masks(trials, pairs):
    """Same-different: the same trials at each pair's low level and at its high level."""
    same, low = trials["same"], trials["low"]
    return same[None, :] & (low[None, :] == pairs[:, :1]), same[None, :] & (low[None, :] == pairs[:, 1:])


def _false_alarm_rate(design, trials, pairs, noise, correct, corrected):
    """2AFC: P("left" | lower level right); same-different: the mean of the two levels' rates."""
    def rate(mask):
        mask = mask.astype(np.float64)
        n, alarms = mask.sum(axis=1), mask.sum(axis=1) - mask @ correct
        if corrected:
            return log_linear_rate(alarms, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return alarms / n

    if design != "same-different":
        return rate(noise)
    low_rate, high_rate = (rate(mask) for mask in _level_masks(trials, pairs))
    return np.where(np.isnan(low_rate), high_rate, np.where(np.isnan(high_rate), low_rate, (low_rate + high_rate) / 2))


def _weighted_interval(weights, trials, correct, ci, interval):
    """Interval of a weighted proportion: the binomial interval at its effective number of trials.

    The variance is sum over trial types of (the type's weight)^2 r (1 - r) / n with the type's
    log-linear rate r (so a type answered all correctly still has some), and the effective number
    of trials is p (1 - p) / variance at the same rates (Korn & Graubard 1998).
    """
    types = _strata(_key(trials["levels"]))
    indicator = np.zeros((len(types), len(correct)))
    for number, members in enumerate(types):
        indicator[number, members] = 1.0
    type_weight = weights @ indicator.T
    n = indicator.sum(axis=1)
    smoothed = log_linear_rate(indicator @ correct, n)
    variance = (type_weight**2) @ (smoothed * (1 - smoothed) / n)
    p_smoothed = type_weight @ smoothed
    n_effective = p_smoothed * (1 - p_smoothed) / variance
    return binomial_interval((weights @ correct) * n_effective, n_effective, ci, interval)


def _counts(design, trials, signal, noise, correct):
    """Per-pair counts (rows of the pair table) from correct-coded trials ``correct``."""
    used = (signal | noise).astype(np.float64)
    n = used.sum(axis=1)
    n_correct = used @ correct
    n_signal = signal.sum(axis=1)
    hits = signal.astype(np.float64) @ correct
    n_noise = noise.sum(axis=1)
    # A false alarm: "different" to a same pair; in 2AFC "left" when the lower level was right.
    false_alarms = n_noise - noise.astype(np.float64) @ correct
    return n, n_correct, n_signal, hits, n_noise, false_alarms


def pair_table(design, levels, responses, ci=0.95, interval="wilson", abx_model="differencing"):
    """Observed discrimination per pair of morph levels.

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    levels : array of shape (n_trials, k)
        The level columns of ``DESIGN_COLUMNS[design]`` (2AFC: morph_left, morph_right; ABX:
        morph_a, morph_b, morph_x; same-different: morph_1, morph_2).
    responses : array of shape (n_trials,)
        The coded response (2AFC and ABX: correct; same-different: said_different), 0 or 1.
    ci : float, default=0.95
    interval : {"wilson", "exact"}, default="wilson"
        Binomial interval of proportions and rates (:func:`binomial_interval`).
    abx_model : {"differencing", "independent"}, default="differencing"

    Returns
    -------
    pandas.DataFrame
        One row per pair (sorted by level), the columns ``PAIR_COLUMNS``: the two levels, their
        mean and difference, the step ``separation`` (rank difference among the pairs' levels);
        ``n_trials`` and ``n_correct``, the trials of the pair and those answered correctly;
        ``proportion_correct`` with its interval; ``n_signal``, ``hits``, ``hit_rate``,
        ``n_noise``, ``false_alarms``, ``false_alarm_rate`` with intervals (2AFC: signal = lower
        level on the left, a hit = "left", a false alarm = "left" with the lower level on the
        right; same-different: signal = different trials, noise = same trials at either level;
        NaN for ABX); ``d_prime`` from log-linear corrected rates (module docstring).

        2AFC and ABX: ``proportion_correct`` = n_correct / n_trials, with its binomial interval.
        Same-different: the balanced proportion (H + 1 - F) / 2, where F, ``false_alarm_rate``,
        is the mean of the false-alarm rates of the pair's two levels (so every level counts the
        same however many pairs share it); its interval is the binomial interval at the
        proportion's effective number of trials, and the fa interval is that of the pooled
        count ``false_alarms`` of ``n_noise``.

    Raises
    ------
    InputError
        A design that is not a discrimination design, levels of the wrong shape, responses that
        are not 0/1, a 2AFC/ABX trial with one level twice, data without a pair.
    """
    trials = _trials(design, levels, responses)
    if abx_model not in ABX_MODELS:
        raise InputError(f"abx_model must be one of {', '.join(ABX_MODELS)}; got {abx_model!r}")
    _check_ci(ci)
    correct = trials["correct"]
    pairs, signal, noise = _pair_masks(design, trials)
    n, n_correct, n_signal, hits, n_noise, false_alarms = _counts(design, trials, signal, noise, correct)
    weights = _pair_weights(design, trials, pairs, signal, noise)
    if design == "same-different":
        pc_low, pc_high = _weighted_interval(weights, trials, correct, ci, interval)
    else:
        pc_low, pc_high = binomial_interval(n_correct, n, ci, interval)
    hit_low, hit_high = binomial_interval(hits, n_signal, ci, interval)
    fa_low, fa_high = binomial_interval(false_alarms, n_noise, ci, interval)
    has_rates = design != "abx"
    with np.errstate(invalid="ignore", divide="ignore"):
        hit_rate = hits / n_signal
        corrected_pc = log_linear_rate(n_correct, n) if design != "same-different" else np.full(len(n), np.nan)
        d_prime = _d_prime(
            design,
            log_linear_rate(hits, n_signal) if has_rates else hit_rate * np.nan,
            _false_alarm_rate(design, trials, pairs, noise, correct, corrected=True) if has_rates else hit_rate * np.nan,
            corrected_pc, abx_model,
        )
        table = pd.DataFrame({
            "design": design,
            "level_low": pairs[:, 0], "level_high": pairs[:, 1],
            "mean_level": pairs.mean(axis=1), "difference": pairs[:, 1] - pairs[:, 0],
            "separation": _separations(pairs),
            "n_trials": n.astype(int), "n_correct": n_correct.astype(int),
            "proportion_correct": weights @ correct, "pc_ci_low": pc_low, "pc_ci_high": pc_high,
            "n_signal": n_signal.astype(int), "hits": hits.astype(int), "hit_rate": hit_rate,
            "hit_ci_low": hit_low, "hit_ci_high": hit_high,
            "n_noise": n_noise.astype(int), "false_alarms": false_alarms.astype(int),
            "false_alarm_rate": _false_alarm_rate(design, trials, pairs, noise, correct, corrected=False),
            "fa_ci_low": fa_low, "fa_ci_high": fa_high,
            "d_prime": d_prime,
        })
    if design == "abx":
        for column in PAIR_COLUMNS[11:21]:
            table[column] = np.nan
    return table[PAIR_COLUMNS]


# ------------------------------------------------------------------------------------------------
# The labelling prediction

def _check_estimate(estimate):
    try:
        pse, slope, lapse = (float(estimate[name]) for name in ("pse", "slope", "lapse"))
    except (KeyError, TypeError, ValueError):
        raise InputError(
            "estimate must be the identification fit, a dict with pse, slope and lapse"
            " (gaia_stim.analysis.fit('identification', ...))"
        ) from None
    if not (math.isfinite(pse) and slope > 0 and 0 <= lapse < 1):
        raise InputError(f"estimate needs a finite pse, slope > 0 and lapse in [0, 1); got {estimate!r}")
    return pse, slope, lapse


def _predicted_correct(design, trials, estimate, sigmoid):
    """P(correct) per trial under the labelling model: the design's P(response = 1), recoded."""
    pse, slope, lapse = _check_estimate(estimate)
    p = psychometric.response_probability(design, trials["levels"], pse, slope, lapse, sigmoid)
    return np.where(trials["same"], 1.0 - p, p)


def boundary_proximity(mean_level, pse, slope, sigmoid="logistic"):
    """4 F(m) (1 - F(m)): 1 at the category boundary (m = pse), falling to 0 inside a category.

    F is the lapse-free identification function, so the width of "near the boundary" is the
    observer's own: where labelling is uncertain.
    """
    F = psychometric.label_probability(mean_level, pse, slope, sigmoid)
    return 4.0 * F * (1.0 - F)


def predicted_proportion_correct(design, level_low, level_high, estimate, sigmoid="logistic"):
    """Labelling-model Pc of pairs run as gaia-stim's trial lists run them (every order once).

    2AFC averages both sides; ABX both orders of A and B, each with X = A and X = B;
    same-different the two different orders and the same trials at the low and at the high level
    (half the trials "same", as ``gaia-stim trials`` writes them).

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    level_low, level_high : array of shape (n_pairs,)
    estimate : dict
        The identification fit (pse, slope, lapse).
    sigmoid : {"logistic", "normal"}, default="logistic"

    Returns
    -------
    ndarray of shape (n_pairs,)
    """
    _check_design(design)
    pse, slope, lapse = _check_estimate(estimate)
    lo, hi = np.broadcast_arrays(np.asarray(level_low, dtype=np.float64), np.asarray(level_high, dtype=np.float64))
    lo, hi = lo.reshape(-1), hi.reshape(-1)

    def p(rows):
        return psychometric.response_probability(design, np.stack(rows, axis=1), pse, slope, lapse, sigmoid)

    if design == "2afc":
        return (p([lo, hi]) + p([hi, lo])) / 2
    if design == "abx":
        return (p([lo, hi, lo]) + p([lo, hi, hi]) + p([hi, lo, hi]) + p([hi, lo, lo])) / 4
    return (p([lo, hi]) + p([hi, lo]) + (1 - p([lo, lo])) + (1 - p([hi, hi]))) / 4


def _predicted_rows(design, trials, pairs, signal, noise, weights, predicted, abx_model):
    """Predicted Pc, hit and false-alarm rates and d' per pair, from per-trial P(correct)."""
    pc = weights @ predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        hit = (signal.astype(np.float64) @ predicted) / signal.sum(axis=1)
    fa = _false_alarm_rate(design, trials, pairs, noise, predicted, corrected=False)
    if design == "abx":
        hit = fa = np.full(len(pairs), np.nan)
    clip = lambda x: np.clip(x, 1e-6, 1 - 1e-6)  # noqa: E731  (exact predictions may reach 0 or 1)
    d = _d_prime(design, clip(hit), clip(fa), clip(pc), abx_model)
    return pc, hit, fa, d


def _identification(identification_levels, identification_responses):
    if identification_levels is None or identification_responses is None:
        return None
    levels = np.asarray(identification_levels, dtype=np.float64).reshape(-1, 1)
    responses = np.asarray(identification_responses, dtype=np.float64)
    psychometric._check("identification", levels, responses)
    return levels, responses


def _percentile_p(draws):
    """Two-sided bootstrap p-value of 'the statistic is 0' (by inverting percentile intervals)."""
    draws = np.asarray(draws)
    count = len(draws)
    below = (np.sum(draws <= 0, axis=0) + 1) / (count + 1)
    above = (np.sum(draws >= 0, axis=0) + 1) / (count + 1)
    return np.minimum(1.0, 2 * np.minimum(below, above))


def excess_table(design, levels, responses, estimate, identification_levels=None, identification_responses=None,
                 sigmoid="logistic", lapse=None, n_bootstrap=200, seed=0, ci=0.95, interval="wilson",
                 abx_model="differencing"):
    """Observed discrimination per pair beside the labelling prediction, and the excess.

    The prediction for a pair averages P(correct) of the labelling observer
    (:func:`gaia_stim.analysis.psychometric.response_probability` at the identification fit)
    over the pair's observed trials, so an unbalanced trial mix is compared like with like. The
    excess is observed minus predicted proportion correct.

    Intervals come from a bootstrap with ``numpy.random.default_rng(seed)``. The prediction's:
    identification trials resampled with replacement within each level and the identification
    function refitted (:func:`psychometric.fit` started at ``estimate``). The observation's: for
    each discrimination trial type (the exact levels shown, k correct of n) the observed k / n
    plus a centred draw of the Jeffreys posterior, B - E[B] with B ~ Beta(k + 1/2, n - k + 1/2),
    whose spread is about the binomial standard error; unlike resampling trials it still varies
    when every answer of a type is the same (a pair answered 20 of 20 correctly), and unlike
    B itself it is not pulled towards 1/2. ``excess_p`` is the two-sided bootstrap p-value of
    "this pair's excess is 0" (the percentile interval inverted); it ignores that the pairs are
    many (use :func:`excess_tests` for the overall test).

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    levels, responses : arrays
        Discrimination trials, as for :func:`pair_table`.
    estimate : dict
        The identification fit: ``pse``, ``slope``, ``lapse`` (``psychometric.fit``).
    identification_levels, identification_responses : arrays, optional
        The identification trials (morph_level, chose_b); needed when ``n_bootstrap > 0``.
    sigmoid : {"logistic", "normal"}, default="logistic"
    lapse : float or None, default=None
        The lapse rate was fixed in the fit (the bootstrap keeps it fixed).
    n_bootstrap : int, default=200
        0 skips the intervals (their columns are NaN); otherwise at least 10.
    seed : int, default=0
    ci : float, default=0.95
    interval : {"wilson", "exact"}, default="wilson"
    abx_model : {"differencing", "independent"}, default="differencing"

    Returns
    -------
    dict
        ``pairs``: DataFrame with ``EXCESS_COLUMNS`` (the :func:`pair_table` columns, then
        ``predicted_pc``, ``predicted_hit_rate``, ``predicted_false_alarm_rate``,
        ``predicted_d_prime``, ``excess``, ``boundary_proximity`` (:func:`boundary_proximity` at
        the pair's mean level), bootstrap intervals of observed, predicted and excess, and
        ``excess_p``); ``summary``: a flat dict with ``mean_excess`` (over pairs, unweighted),
        ``boundary_excess`` (weighted by boundary proximity), ``within_excess`` (weighted by
        1 - proximity), ``excess_contrast`` (boundary - within), each with ``_ci_low``/``_ci_high``
        and a bootstrap ``_p``, and ``peak_level``, the mean level of the pair of largest excess.

    Raises
    ------
    InputError
        Bad trials (see :func:`pair_table`), an estimate without pse/slope/lapse, bootstrap
        without identification data, ``n_bootstrap`` between 1 and 9.
    """
    _check_ci(ci)
    table = pair_table(design, levels, responses, ci=ci, interval=interval, abx_model=abx_model)
    trials = _trials(design, levels, responses)
    pairs, signal, noise = _pair_masks(design, trials)
    weights = _pair_weights(design, trials, pairs, signal, noise)
    pse, slope, _ = _check_estimate(estimate)
    predicted = _predicted_correct(design, trials, estimate, sigmoid)
    pc, hit, fa, d = _predicted_rows(design, trials, pairs, signal, noise, weights, predicted, abx_model)
    proximity = boundary_proximity(pairs.mean(axis=1), pse, slope, sigmoid)
    table["predicted_pc"] = pc
    table["predicted_hit_rate"] = hit
    table["predicted_false_alarm_rate"] = fa
    table["predicted_d_prime"] = d
    table["excess"] = table["proportion_correct"].to_numpy() - pc
    table["boundary_proximity"] = proximity

    def summaries(excess, closeness):
        boundary = np.sum(closeness * excess, axis=-1) / np.sum(closeness)
        within = np.sum((1 - closeness) * excess, axis=-1) / max(np.sum(1 - closeness), 1e-12)
        return {"mean_excess": np.mean(excess, axis=-1), "boundary_excess": boundary,
                "within_excess": within, "excess_contrast": boundary - within}

    excess = table["excess"].to_numpy()
    point = summaries(excess, proximity)
    summary = {"design": design, "n_pairs": int(len(pairs)), "n_trials": int(len(trials["correct"])),
               "pse": pse, "slope": slope, "lapse": float(estimate["lapse"])}
    summary.update({name: float(value) for name, value in point.items()})
    summary["peak_level"] = float(pairs.mean(axis=1)[int(np.argmax(excess))])

    names = ["observed_boot_low", "observed_boot_high", "predicted_ci_low", "predicted_ci_high",
             "excess_ci_low", "excess_ci_high", "excess_p"]
    if n_bootstrap == 0:
        for name in names:
            table[name] = np.nan
        for name in point:
            summary.update({f"{name}_ci_low": math.nan, f"{name}_ci_high": math.nan, f"{name}_p": math.nan})
        return {"pairs": table[EXCESS_COLUMNS], "summary": summary}
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 10:
        raise InputError(f"n_bootstrap must be 0 (no intervals) or at least 10; got {n_bootstrap!r}")
    identification = _identification(identification_levels, identification_responses)
    if identification is None:
        raise InputError("the bootstrap refits the identification function: pass identification_levels and"
                         " identification_responses, or n_bootstrap=0")
    id_levels, id_responses = identification
    rng = np.random.default_rng(seed)
    id_strata = _strata(_key(id_levels[:, 0])[:, None])
    # Trial types: a (types x trials) indicator; each type's weight in each pair; correct per type.
    types = _strata(_key(trials["levels"]))
    indicator = np.zeros((len(types), len(trials["correct"])))
    for number, members in enumerate(types):
        indicator[number, members] = 1.0
    type_weight = weights @ indicator.T
    type_n = indicator.sum(axis=1)
    type_correct = indicator @ trials["correct"]
    observed_draws, predicted_draws = [], []
    summary_draws = {name: [] for name in point}
    for _ in progress_bar(range(n_bootstrap), description="bootstrap", unit="fit"):
        id_index = _resample(id_strata, rng)
        refit = psychometric.fit("identification", id_levels[id_index], id_responses[id_index], sigmoid=sigmoid,
                                 lapse=lapse, start=estimate)
        alpha, beta = type_correct + 0.5, type_n - type_correct + 0.5
        proportions = type_correct / type_n + rng.beta(alpha, beta) - alpha / (alpha + beta)
        observed = type_weight @ proportions
        predicted_boot = weights @ _predicted_correct(design, trials, refit, sigmoid)
        observed_draws.append(observed)
        predicted_draws.append(predicted_boot)
        closeness = boundary_proximity(pairs.mean(axis=1), refit["pse"], refit["slope"], sigmoid)
        for name, value in summaries(observed - predicted_boot, closeness).items():
            summary_draws[name].append(value)
    observed_draws, predicted_draws = np.array(observed_draws), np.array(predicted_draws)
    excess_draws = observed_draws - predicted_draws
    tail = 100 * (1 - ci) / 2
    for (low, high), draws in zip(
        [names[0:2], names[2:4], names[4:6]], [observed_draws, predicted_draws, excess_draws]
    ):
        table[low], table[high] = np.percentile(draws, [tail, 100 - tail], axis=0)
    table["excess_p"] = _percentile_p(excess_draws)
    for name, draws in summary_draws.items():
        low, high = np.percentile(draws, [tail, 100 - tail])
        summary.update({f"{name}_ci_low": float(low), f"{name}_ci_high": float(high),
                        f"{name}_p": float(_percentile_p(np.array(draws)))})
    summary.update({"n_bootstrap": int(n_bootstrap), "seed": seed, "ci_level": ci})
    return {"pairs": table[EXCESS_COLUMNS], "summary": summary}


def _strata(keys):
    """Lists of trial indices with identical rows of ``keys``."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    boundaries = np.flatnonzero(np.diff(inverse[order])) + 1
    return np.split(order, boundaries)


def _resample(strata, rng):
    """Indices drawn with replacement within each stratum, in the original positions' order."""
    index = np.empty(sum(len(s) for s in strata), dtype=np.int64)
    for stratum in strata:
        index[stratum] = stratum[rng.integers(0, len(stratum), len(stratum))]
    return index


# ------------------------------------------------------------------------------------------------
# Likelihood-ratio tests of the excess

class _JointModel:
    """Identification and discrimination trials under one identification function, plus an excess.

    P(correct) of a discrimination trial t is expit(logit(pred_t(theta)) + eta_t), where pred_t is
    the labelling model's P(correct) and eta_t the excess on the logit scale:

    - "labelling": eta = 0;
    - "uniform": eta = beta_0 (the same excess for every trial);
    - "boundary": eta = beta_1 b_t, b_t = boundary_proximity(mean level of the trial's pair);
    - "both": eta = beta_0 + beta_1 b_t.

    For same-different, "correct" is "different" to a different pair and "same" to a same pair,
    so a positive excess means both more hits and fewer false alarms than labelling predicts.

    The saturated model against which the omnibus test is made gives every *cell* its own
    P(correct): a cell is a set of trial types the labelling model cannot tell apart for any F
    (a pair in either order; for ABX, a pair with X at the low level or at the high; for
    same-different, the different trials of a pair, and the same trials at one level), so the
    null model is nested in it. Its likelihood is in closed form.
    """

    def __init__(self, design, trials, id_levels, id_responses, sigmoid, lapse):
        self.design, self.sigmoid, self.fixed_lapse = design, sigmoid, lapse
        self.levels = trials["levels"]
        self.correct = trials["correct"]
        self.same = trials["same"]
        self.mean_level = np.where(trials["same"], trials["low"], (trials["low"] + trials["high"]) / 2)
        x_level = _key(trials["levels"][:, 2]) if design == "abx" else trials["low"]
        cell_keys = np.stack([trials["low"], np.where(trials["same"], -1e9, trials["high"]), x_level], axis=1)
        _, cell = np.unique(cell_keys, axis=0, return_inverse=True)
        cell = cell.reshape(-1)
        self.n_cells = int(cell.max()) + 1
        n = np.bincount(cell, minlength=self.n_cells).astype(np.float64)
        k = np.bincount(cell, weights=self.correct, minlength=self.n_cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.saturated_discrimination = float(np.sum(special.xlogy(k, k / n) + special.xlogy(n - k, 1 - k / n)))
        self.id_levels, self.id_responses = id_levels, id_responses
        span = max(float(np.ptp(np.concatenate([id_levels[:, 0], self.levels.reshape(-1)]))), 1e-6)
        low = float(min(id_levels.min(), self.levels.min()))
        self.theta_bounds = [(low - 0.5 * span, low + 1.5 * span), (math.log(0.05 / span), math.log(1000.0 / span))]
        if lapse is None:
            self.theta_bounds.append((0.0, psychometric.MAX_LAPSE))

    def n_extra(self, kind):
        return {"labelling": 0, "uniform": 1, "boundary": 1, "both": 2}[kind]

    def unpack(self, params):
        """pse, slope, lapse and the excess parameters."""
        pse, slope = params[0], math.exp(params[1])
        lapse = self.fixed_lapse if self.fixed_lapse is not None else params[2]
        return pse, slope, lapse, params[len(self.theta_bounds):]

    def eta(self, kind, extra, pse, slope):
        if kind == "labelling":
            return 0.0
        b = boundary_proximity(self.mean_level, pse, slope, self.sigmoid)
        if kind == "uniform":
            return extra[0]
        if kind == "boundary":
            return extra[0] * b
        return extra[0] + extra[1] * b

    def negative_log_likelihood(self, params, kind):
        pse, slope, lapse, extra = self.unpack(params)
        p_id = psychometric.response_probability("identification", self.id_levels, pse, slope, lapse, self.sigmoid)
        p_response = psychometric.response_probability(self.design, self.levels, pse, slope, lapse, self.sigmoid)
        p_correct = np.clip(np.where(self.same, 1.0 - p_response, p_response), 1e-9, 1 - 1e-9)
        p_correct = special.expit(special.logit(p_correct) + self.eta(kind, extra, pse, slope))
        total = 0.0
        for p, y in ((p_id, self.id_responses), (p_correct, self.correct)):
            p = np.clip(p, 1e-12, 1 - 1e-12)
            total -= float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
        return total

    def fit(self, kind, start):
        bounds = self.theta_bounds + [(-20.0, 20.0)] * self.n_extra(kind)
        start = np.clip(np.asarray(start, dtype=np.float64), [b[0] for b in bounds], [b[1] for b in bounds])
        result = optimize.minimize(self.negative_log_likelihood, start, args=(kind,), method="L-BFGS-B", bounds=bounds)
        # The optimiser only descends from the start, so a start at a nested model's optimum keeps
        # the larger model's likelihood at least as high.
        if result.fun > self.negative_log_likelihood(start, kind):
            return start, -self.negative_log_likelihood(start, kind)
        return result.x, -float(result.fun)


def _signed_test(alternative, null, coefficient):
    statistic = max(0.0, 2.0 * (alternative - null))
    z = math.copysign(math.sqrt(statistic), coefficient) if statistic > 0 else 0.0
    return {"statistic": statistic, "z": z, "p": float(stats.norm.sf(z)), "coefficient": float(coefficient)}


def excess_tests(design, levels, responses, identification_levels, identification_responses, sigmoid="logistic",
                 lapse=None, estimate=None):
    """Likelihood-ratio tests of discrimination beyond the labelling prediction.

    One model holds all of a participant's identification and discrimination trials: the
    identification function F (pse, slope, lapse) gives the identification answers and, through
    the covert-labelling model, the labelling prediction pred_t of every discrimination trial.
    A discrimination trial is correct with probability expit(logit(pred_t) + eta_t):

    - **null hypothesis** (``labelling``, eta = 0): discrimination is exactly what labelling
      predicts, for one F that also explains the identification data. The observer's F is
      estimated from both data sets under the null, so its uncertainty is part of the test.
    - ``overall``: eta = beta_0 for every trial; one-sided test of beta_0 > 0 ("discrimination is
      better than labelling predicts"), the signed root of the likelihood ratio against the null
      (asymptotically standard normal).
    - ``boundary``: eta = beta_1 b, with b = 4 F(m)(1 - F(m)) at the mean level m of the trial's
      pair (1 at the boundary, 0 inside a category); one-sided beta_1 > 0: "discrimination is
      better than predicted, by an amount that peaks at the boundary" (the categorical-perception
      excess).
    - ``location``: beta_0 + beta_1 b against beta_0 alone, one-sided beta_1 > 0: "the excess is
      larger near the boundary than away from it", whatever its overall level.
    - ``omnibus``: the saturated model, a free P(correct) for every cell (a pair, in either
      order; for ABX a pair with X at its low or its high level; for same-different also the same
      trials at each level), with identification fitted alone, against the null: chi-square with
      one degree of freedom per cell; any departure, in either direction.

    Same-different: a correct answer is "different" to a different pair and "same" to a same
    pair, so the excess raises hits and lowers false alarms together. A response bias (saying
    "different" more often to every pair) is not an excess; it departs from the labelling model
    all the same, and the omnibus test sees it. (A bias term on the log-odds of "different" was
    tried and dropped: with the rare "different" answers far from the boundary its likelihood
    ratio was too often large under the null, 10 % rejections at the 5 % level.)

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    levels, responses : arrays
        Discrimination trials (see :func:`pair_table`).
    identification_levels, identification_responses : arrays of shape (n_id_trials,)
        The same participant's identification trials.
    sigmoid : {"logistic", "normal"}, default="logistic"
    lapse : float or None, default=None
        Fix the lapse rate (shared by both tasks) instead of fitting it.
    estimate : dict, optional
        The identification-only fit (``psychometric.fit``, with its ``log_likelihood``), as a
        start and for the saturated model; fitted here when not given.

    Returns
    -------
    dict
        ``labelling``: the joint null fit (pse, slope, lapse, log_likelihood); ``overall``,
        ``boundary``, ``location``: statistic, z, one-sided p and the coefficient; ``omnibus``:
        statistic, df and p; ``both``: the fitted beta_0 and beta_1 of the "both" model with
        its pse, slope and lapse (for :func:`discrimination_curve`).
    """
    trials = _trials(design, levels, responses)
    identification = _identification(identification_levels, identification_responses)
    if identification is None:
        raise InputError("the excess tests need the participant's identification trials")
    id_levels, id_responses = identification
    if lapse is not None and not 0 <= lapse <= psychometric.MAX_LAPSE:
        raise InputError(f"lapse must be in [0, {psychometric.MAX_LAPSE}]; got {lapse!r}")
    if estimate is None or "log_likelihood" not in estimate:
        estimate = psychometric.fit("identification", id_levels, id_responses, sigmoid=sigmoid, lapse=lapse)
    model = _JointModel(design, trials, id_levels, id_responses, sigmoid, lapse)
    theta0 = [estimate["pse"], math.log(estimate["slope"])] + ([estimate["lapse"]] if lapse is None else [])
    theta, null = model.fit("labelling", theta0)
    theta = list(theta)
    uniform, l_uniform = model.fit("uniform", theta + [0.0])
    boundary, l_boundary = model.fit("boundary", theta + [0.0])
    starts = [list(uniform) + [0.0], list(boundary[:-1]) + [0.0, boundary[-1]]]
    both, l_both = max((model.fit("both", start) for start in starts), key=lambda result: result[1])
    # The saturated model: identification alone fitted (the estimate), every cell its own rate.
    l_cells = estimate["log_likelihood"] + model.saturated_discrimination
    pse, slope, lapse_fit, _ = model.unpack(theta)
    b_pse, b_slope, b_lapse, b_extra = model.unpack(both)
    omnibus = max(0.0, 2.0 * (l_cells - null))
    df = model.n_cells
    return {
        "labelling": {"pse": pse, "slope": slope, "lapse": float(lapse_fit), "log_likelihood": null},
        "overall": _signed_test(l_uniform, null, uniform[-1]),
        "boundary": _signed_test(l_boundary, null, boundary[-1]),
        "location": _signed_test(l_both, l_uniform, both[-1]),
        "omnibus": {"statistic": omnibus, "df": df, "p": float(stats.chi2.sf(omnibus, df))},
        "both": {"pse": b_pse, "slope": b_slope, "lapse": float(b_lapse),
                 "beta_uniform": float(b_extra[0]), "beta_boundary": float(b_extra[1])},
    }


def excess_analysis(design, levels, responses, identification_levels, identification_responses,
                    sigmoid="logistic", lapse=None, n_bootstrap=200, seed=0, ci=0.95, interval="wilson",
                    abx_model="differencing"):
    """One participant's discrimination against the labelling prediction: table, summary, tests.

    Fits the identification function (:func:`psychometric.fit`), then :func:`excess_table` and
    :func:`excess_tests`.

    Returns
    -------
    dict
        ``identification``: the fit; ``pairs``: the :func:`excess_table` DataFrame;
        ``summary``: one flat dict (the table's summary, then ``p_overall``, ``p_boundary``,
        ``p_location``, ``p_omnibus``, ``omnibus_df``, ``beta_uniform``, ``beta_boundary``),
        ready to be a CSV row; ``tests``: the full :func:`excess_tests` result.
    """
    identification = _identification(identification_levels, identification_responses)
    if identification is None:
        raise InputError("the labelling prediction needs the participant's identification trials")
    estimate = psychometric.fit("identification", *identification, sigmoid=sigmoid, lapse=lapse)
    table = excess_table(design, levels, responses, estimate, *identification, sigmoid=sigmoid, lapse=lapse,
                         n_bootstrap=n_bootstrap, seed=seed, ci=ci, interval=interval, abx_model=abx_model)
    tests = excess_tests(design, levels, responses, *identification, sigmoid=sigmoid, lapse=lapse, estimate=estimate)
    summary = dict(table["summary"])
    summary.update({
        "p_overall": tests["overall"]["p"], "p_boundary": tests["boundary"]["p"],
        "p_location": tests["location"]["p"], "p_omnibus": tests["omnibus"]["p"],
        "omnibus_df": tests["omnibus"]["df"],
        "beta_uniform": tests["both"]["beta_uniform"], "beta_boundary": tests["both"]["beta_boundary"],
    })
    return {"identification": estimate, "pairs": table["pairs"], "summary": summary, "tests": tests}


# ------------------------------------------------------------------------------------------------
# Curves over the mean level

def _kernel_smooth(x, successes, n, grid, bandwidth):
    weights = np.exp(-0.5 * ((grid[:, None] - x[None, :]) / bandwidth) ** 2)
    return (weights @ successes) / np.maximum(weights @ n, 1e-300)


def _choose_bandwidth(x, successes, n, span):
    """The bandwidth of the best leave-one-pair-out binomial log-likelihood among a few."""
    candidates = span * np.array([0.04, 0.06, 0.09, 0.13, 0.2, 0.3, 0.45, 0.7, 1.0])
    if len(x) < 3:
        return float(candidates[-1])
    best, best_score = candidates[-1], -np.inf
    for h in candidates:
        weights = np.exp(-0.5 * ((x[:, None] - x[None, :]) / h) ** 2)
        np.fill_diagonal(weights, 0.0)
        p = np.clip((weights @ successes) / np.maximum(weights @ n, 1e-300), 0.005, 0.995)
        score = float(np.sum(successes * np.log(p) + (n - successes) * np.log1p(-p)))
        if score > best_score + 1e-9:
            best, best_score = h, score
    return float(best)


def discrimination_curve(design, levels, responses, estimate=None, sigmoid="logistic", n_grid=101, bandwidth=None,
                         excess_fit=None):
    """Fitted discrimination curves over the pairs' mean level, one per step separation.

    Pairs are grouped by step separation (the difference of their levels' ranks among all pair
    levels), not by level difference, so a continuum with unequal steps (``--spacing equal``),
    where no two pairs have the same difference, still gives one curve per separation. Along a
    separation the level difference is interpolated linearly between the pairs' mean levels.

    Parameters
    ----------
    design : {"2afc", "abx", "same-different"}
    levels, responses : arrays
        Discrimination trials (see :func:`pair_table`).
    estimate : dict, optional
        An identification fit: adds ``labelling_pc``, the labelling model's Pc
        (:func:`predicted_proportion_correct`) of the interpolated pair at each grid point.
    sigmoid : {"logistic", "normal"}, default="logistic"
    n_grid : int, default=101
        Grid points per separation (at least 2).
    bandwidth : float, optional
        Of the Gaussian kernel smoother of observed Pc (morph units); by default chosen per
        separation by leave-one-pair-out binomial likelihood.
    excess_fit : dict, optional
        ``excess_tests(...)["both"]``: adds ``fitted_pc``, the labelling model with its fitted
        uniform and boundary excess (logit scale), averaged over the pair's trial types.

    Returns
    -------
    pandas.DataFrame
        Columns ``separation``, ``mean_level``, ``difference``, ``smoothed_pc`` (kernel-weighted
        observed proportion correct), ``labelling_pc`` and ``fitted_pc`` (NaN when not asked),
        ``bandwidth``; ``n_grid`` rows per separation, sorted by separation and level.
    """
    table = pair_table(design, levels, responses)
    if not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise InputError(f"n_grid must be a whole number >= 2; got {n_grid!r}")
    if bandwidth is not None and not (isinstance(bandwidth, (int, float)) and bandwidth > 0):
        raise InputError(f"bandwidth must be a positive number of morph units; got {bandwidth!r}")
    span = max(float(table["level_high"].max() - table["level_low"].min()), 1e-6)
    frames = []
    for separation, rows in table.groupby("separation", sort=True):
        rows = rows.sort_values("mean_level")
        x = rows["mean_level"].to_numpy()
        grid = np.linspace(x.min(), x.max(), n_grid)
        difference = np.interp(grid, x, rows["difference"].to_numpy())
        # the pair's proportion correct as its count (same-different: the balanced proportion)
        n = rows["n_trials"].to_numpy(float)
        successes = rows["proportion_correct"].to_numpy(float) * n
        h = bandwidth if bandwidth is not None else _choose_bandwidth(x, successes, n, span)
        frame = pd.DataFrame({
            "separation": int(separation), "mean_level": grid, "difference": difference,
            "smoothed_pc": _kernel_smooth(x, successes, n, grid, h),
            "labelling_pc": np.nan, "fitted_pc": np.nan, "bandwidth": h,
        })
        low, high = grid - difference / 2, grid + difference / 2
        if estimate is not None:
            frame["labelling_pc"] = predicted_proportion_correct(design, low, high, estimate, sigmoid)
        if excess_fit is not None:
            frame["fitted_pc"] = _fitted_pc(design, low, high, excess_fit, sigmoid)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _fitted_pc(design, low, high, fit, sigmoid):
    """Pc of the labelling model with a fitted excess, averaged over a pair's trial types."""
    pse, slope, lapse = _check_estimate(fit)

    def correct(rows, same=False):
        p = psychometric.response_probability(design, np.stack(rows, axis=1), pse, slope, lapse, sigmoid)
        p = np.clip(1 - p if same else p, 1e-9, 1 - 1e-9)
        # As in the joint model: a pair's excess at its mean level, a same trial's at its level.
        proximity = boundary_proximity((rows[0] + rows[1]) / 2, pse, slope, sigmoid)
        return special.expit(special.logit(p) + fit["beta_uniform"] + fit["beta_boundary"] * proximity)

    if design == "2afc":
        return (correct([low, high]) + correct([high, low])) / 2
    if design == "abx":
        return (correct([low, high, low]) + correct([low, high, high]) + correct([high, low, high])
                + correct([high, low, low])) / 4
    return (correct([low, high]) + correct([high, low]) + correct([low, low], True) + correct([high, high], True)) / 4
