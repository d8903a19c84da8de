"""Group estimates from per-participant fits, not from the participants' trials pooled.

Concatenating every participant's trials and fitting one function answers a different question
from "what is the typical participant's pse and slope": participants with different PSEs pooled
give a shallower function than any of them has. Here each participant is fitted alone and the
group estimate is the mean of the participants' estimates, with a between-participant interval
(a t interval, or a percentile bootstrap over participants), so the interval reflects how much
participants differ, not only how many trials there were.

:func:`participant_table` fits every participant who has identification data (and, for each
discrimination design they ran, the excess over the labelling prediction,
:func:`gaia_stim.analysis.discrimination.excess_analysis`); :func:`group_table` summarises its
columns; :func:`group_mean` is one column's estimate. A mixed model would pool the two levels of
variation in one fit; it needs statsmodels, which gaia-stim does not require.
"""

import math

import numpy as np
import pandas as pd
from scipy import stats

from gaia_stim.analysis import discrimination, psychometric
from gaia_stim.core.errors import InputError

__all__ = [
    "GROUP_METHODS", "PARTICIPANT_COLUMNS", "GROUP_COLUMNS", "group_mean", "paired_participants",
    "participant_table", "group_table",
]

GROUP_METHODS = ("t", "bootstrap")

PARTICIPANT_COLUMNS = [
    "design", "participant", "n_identification", "n_discrimination", "pse", "slope", "lapse",
    "mean_excess", "boundary_excess", "within_excess", "excess_contrast", "peak_level",
    "beta_uniform", "beta_boundary", "p_overall", "p_boundary", "p_location", "p_omnibus",
]

GROUP_COLUMNS = [
    "design", "quantity", "n_participants", "mean", "sd", "se", "ci_low", "ci_high", "method", "ci_level",
    "t", "p_two_sided", "p_greater",
]

# Quantities whose value 0 means something (no excess): they get a test against 0.
TESTED = ("mean_excess", "boundary_excess", "within_excess", "excess_contrast", "beta_uniform", "beta_boundary")


def group_mean(values, ci=0.95, method="t", n_bootstrap=2000, seed=0):
    """Mean of per-participant estimates with a between-participant interval and a t test against 0.

    Parameters
    ----------
    values : array of shape (n_participants,)
        One estimate per participant (NaN are left out).
    ci : float, default=0.95
    method : {"t", "bootstrap"}, default="t"
        "t": mean +- t_{n-1} SD / sqrt(n); "bootstrap": percentile interval of the mean over
        ``n_bootstrap`` resamples of the participants (``numpy.random.default_rng(seed)``).
    n_bootstrap : int, default=2000
    seed : int, default=0

    Returns
    -------
    dict
        ``n``, ``mean``, ``sd``, ``se``, ``ci_low``, ``ci_high``, ``method``, ``ci_level``, and
        the one-sample t test of mean = 0: ``t``, ``p_two_sided``, ``p_greater`` (mean > 0).

    Raises
    ------
    InputError
        Fewer than two finite values, a method not in ``GROUP_METHODS``, ``ci`` outside (0, 1).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        raise InputError(f"a between-participant interval needs at least 2 participants' estimates; got {len(values)}")
    if method not in GROUP_METHODS:
        raise InputError(f"method must be one of {', '.join(GROUP_METHODS)}; got {method!r}")
    if not (isinstance(ci, (int, float)) and 0 < ci < 1):
        raise InputError(f"ci must be between 0 and 1; got {ci!r}")
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    se = sd / math.sqrt(n)
    if method == "t":
        half = float(stats.t.ppf(0.5 + ci / 2, n - 1)) * se
        low, high = mean - half, mean + half
    else:
        if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 100:
            raise InputError(f"n_bootstrap must be a whole number >= 100; got {n_bootstrap!r}")
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, n, size=(int(n_bootstrap), n))].mean(axis=1)
        tail = 100 * (1 - ci) / 2
        low, high = (float(v) for v in np.percentile(means, [tail, 100 - tail]))
    if se > 0:
        t = mean / se
        p_two, p_greater = float(2 * stats.t.sf(abs(t), n - 1)), float(stats.t.sf(t, n - 1))
    else:
        t, p_two, p_greater = math.nan, math.nan, math.nan
    return {"n": n, "mean": mean, "sd": sd, "se": se, "ci_low": float(low), "ci_high": float(high),
            "method": method, "ci_level": ci, "t": t, "p_two_sided": p_two, "p_greater": p_greater}


def paired_participants(groups):
    """``(design, participant)`` of every discrimination data set whose participant also did identification.

    Parameters
    ----------
    groups : dict
        ``{(design, participant): (levels, responses)}``, as ``read_data_files`` returns it.

    Returns
    -------
    list of tuple
        Sorted.
    """
    identified = {participant for design, participant in groups if design == "identification"}
    return sorted(key for key in groups
                  if key[0] in discrimination.DISCRIMINATION_DESIGNS and key[1] in identified)


def participant_table(groups, sigmoid="logistic", lapse=None, n_bootstrap=0, seed=0, ci=0.95, pooled=None):
    """One row per participant and design: the identification fit and, for discrimination, the excess.

    Parameters
    ----------
    groups : dict
        ``{(design, participant): (levels, responses)}`` (``read_data_files``).
    sigmoid : {"logistic", "normal"}, default="logistic"
    lapse : float or None, default=None
        Fix the lapse rate instead of fitting it.
    n_bootstrap, seed, ci
        Passed to :func:`discrimination.excess_analysis` (0: no per-participant bootstrap; the
        group interval is between participants anyway).
    pooled : str, optional
        A participant name to leave out (e.g. the reports' "pooled" group).

    Returns
    -------
    pandas.DataFrame
        ``PARTICIPANT_COLUMNS``: an ``identification`` row per participant (pse, slope, lapse;
        the excess columns NaN), and a row per discrimination design the participant ran with
        identification, holding the identification fit, the excess summaries and the p-values of
        :func:`discrimination.excess_tests`.

    Raises
    ------
    InputError
        No participant has identification data.
    """
    keys = [key for key in groups if key[1] != pooled]
    identified = sorted(participant for design, participant in keys if design == "identification")
    if not identified:
        raise InputError("no participant has identification data: the group pse and slope and the labelling"
                         " prediction need the identification design (protocols/identification.py)")
    rows = []
    estimates = {}
    for participant in identified:
        id_levels, id_responses = groups[("identification", participant)]
        estimate = psychometric.fit("identification", id_levels, id_responses, sigmoid=sigmoid, lapse=lapse)
        estimates[participant] = estimate
        rows.append({"design": "identification", "participant": participant, "n_identification": len(id_responses),
                     "n_discrimination": 0, "pse": estimate["pse"], "slope": estimate["slope"],
                     "lapse": estimate["lapse"]})
    for design, participant in paired_participants({key: groups[key] for key in keys}):
        id_levels, id_responses = groups[("identification", participant)]
        levels, responses = groups[(design, participant)]
        result = discrimination.excess_analysis(design, levels, responses, id_levels, id_responses, sigmoid=sigmoid,
                                                lapse=lapse, n_bootstrap=n_bootstrap, seed=seed, ci=ci)
        summary = result["summary"]
        rows.append({"design": design, "participant": participant, "n_identification": len(id_responses),
                     "n_discrimination": len(responses),
                     **{name: summary[name] for name in PARTICIPANT_COLUMNS[4:]}})
    table = pd.DataFrame(rows)
    for column in PARTICIPANT_COLUMNS:
        if column not in table:
            table[column] = np.nan
    return table[PARTICIPANT_COLUMNS]


def group_table(table, quantities=("pse", "slope", "lapse", "mean_excess", "boundary_excess", "excess_contrast"),
                ci=0.95, method="t", n_bootstrap=2000, seed=0):
    """Group estimates of every quantity, per design, from a :func:`participant_table`.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-participant rows with a ``design`` column and the ``quantities``.
    quantities : sequence of str
        Columns to summarise; those that are NaN for a design (the excess of identification
        rows) are skipped there.
    ci, method, n_bootstrap, seed
        As for :func:`group_mean`.

    Returns
    -------
    pandas.DataFrame
        ``GROUP_COLUMNS``: one row per design and quantity with at least two participants. The
        t test against 0 is reported for the excess quantities only (NaN for pse, slope, lapse,
        where 0 means nothing).
    """
    missing = [name for name in ("design", *quantities) if name not in table.columns]
    if missing:
        raise InputError(f"the participant table has no column {missing[0]!r}; columns: {', '.join(table.columns)}")
    rows = []
    for design, rows_of_design in table.groupby("design", sort=True):
        for quantity in quantities:
            values = rows_of_design[quantity].to_numpy(dtype=np.float64)
            if np.sum(np.isfinite(values)) < 2:
                continue
            result = group_mean(values, ci=ci, method=method, n_bootstrap=n_bootstrap, seed=seed)
            if quantity not in TESTED:
                result.update(t=math.nan, p_two_sided=math.nan, p_greater=math.nan)
            rows.append({"design": design, "quantity": quantity, "n_participants": result.pop("n"), **result})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)
