"""Fit every participant and the pooled data, write a summary CSV and a plot."""

import csv
import io
import logging
import os

import numpy as np

from gaia_stim.analysis import psychometric
from gaia_stim.analysis.data_files import read_data_files
from gaia_stim.core.errors import InputError, OutputExistsError
from gaia_stim.core.limits import check_work
from gaia_stim.designs.records import DESIGNS, get_design
from gaia_stim.io.tables import spreadsheet_safe
from gaia_stim.core.atomic import atomic_write

__all__ = ["analyze", "SUMMARY_FILE", "PLOT_FILE", "POOLED"]

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.csv"
PLOT_FILE = "psychometric.png"
POOLED = "pooled"
FITTERS = ("auto", "scipy", "psignifit")

SUMMARY_COLUMNS = [
    "design", "participant", "n_trials", "fitter", "sigmoid",
    "pse", "pse_ci_low", "pse_ci_high",
    "slope", "slope_ci_low", "slope_ci_high",
    "lapse", "lapse_ci_low", "lapse_ci_high",
    "log_likelihood", "ci_level", "n_bootstrap", "seed",
]


def _psignifit_available():
    try:
        import psignifit  # noqa: F401  (GPLv3, installed only on request)
    except ImportError:
        return False
    return True


def _fit_group(design, levels, responses, sigmoid, n_bootstrap, seed, lapse, ci, fitter):
    if fitter == "psignifit":
        from gaia_stim.analysis.psignifit_fits import fit_psignifit

        return fit_psignifit(design, levels, responses, sigmoid=sigmoid, lapse=lapse, ci=ci)
    estimate = psychometric.fit(design, levels, responses, sigmoid=sigmoid, lapse=lapse)
    intervals = psychometric.bootstrap(
        design, levels, responses, estimate, n_bootstrap=n_bootstrap, seed=seed, sigmoid=sigmoid,
        lapse=lapse, ci=ci,
    )
    return {**estimate, "intervals": intervals, "fitter": "scipy-ml"}


def _choose_fitter(fitter, design):
    if fitter not in FITTERS:
        raise InputError(f"fitter must be one of {', '.join(FITTERS)}; got {fitter!r}")
    if fitter == "scipy":
        return "scipy"
    available = _psignifit_available()
    fits_with_psignifit = get_design(design).psignifit
    if fitter == "psignifit":
        if not available:
            raise InputError("psignifit is not installed; pip install 'gaia-stim[psignifit]' or use --fitter scipy")
        if not fits_with_psignifit:
            fitted = ", ".join(name for name, record in DESIGNS.items() if record.psignifit)
            raise InputError(f"psignifit fits {fitted} data only; the {design} data need --fitter scipy")
        return "psignifit"
    return "psignifit" if available and fits_with_psignifit else "scipy"


def _summary_bytes(records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        # participant ids and other text come from the data files: never a formula in a spreadsheet
        writer.writerow({k: repr(v) if isinstance(v, float) else spreadsheet_safe(v) for k, v in record.items()})
    return buffer.getvalue().encode("utf-8")


def _observed(design, levels, responses):
    """Mean coded response per distinct trial type, and the x to plot it at (its mean level)."""
    keys, inverse = np.unique(levels, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    means = np.bincount(inverse, weights=responses) / np.bincount(inverse)
    counts = np.bincount(inverse)
    return keys, means, counts


def _plot(path, groups, results, sigmoid):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    keys = list(results)
    columns = min(4, len(keys))
    rows = -(-len(keys) // columns)
    figure, axes = pyplot.subplots(rows, columns, figsize=(3.6 * columns, 3.0 * rows), squeeze=False)
    for axis, key in zip(axes.flat, keys):
        design, participant = key
        record = get_design(design)
        levels, responses = groups[key]
        result = results[key]
        conditions, means, counts = _observed(design, levels, responses)
        x_obs = conditions.mean(axis=1)
        predicted = psychometric.response_probability(
            design, conditions, result["pse"], result["slope"], result["lapse"], sigmoid
        )
        if record.curve_groups is None:
            grid = np.linspace(min(0.0, levels.min()), max(1.0, levels.max()), 200)
            axis.plot(grid, psychometric.response_probability(
                design, grid, result["pse"], result["slope"], result["lapse"], sigmoid), color="C0")
        else:
            # One line per kind of pair (e.g. X=A vs X=B, same vs different), in order of level.
            kinds = record.curve_groups(conditions)
            for number, kind in enumerate(np.unique(kinds)):
                chosen = kinds == kind
                order = np.argsort(x_obs[chosen])
                axis.plot(x_obs[chosen][order], predicted[chosen][order], color=f"C{number % 10}", lw=1)
        axis.scatter(x_obs, means, s=8 + 40 * counts / counts.max(), color="black", zorder=3)
        axis.axvline(result["pse"], color="grey", ls="--", lw=0.8)
        low, high = result["intervals"]["pse"]
        axis.axvspan(low, high, color="grey", alpha=0.15, lw=0)
        axis.set_ylim(-0.03, 1.03)
        axis.set_title(
            f"{design}, {participant}\nPSE {result['pse']:.3f} [{low:.3f}, {high:.3f}],"
            f" slope {result['slope']:.2f}",
            fontsize=8,
        )
        axis.set_xlabel(record.x_label, fontsize=8)
        axis.set_ylabel(record.y_label, fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(keys):]:
        axis.set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No metadata: the same fit gives the same bytes.
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    pyplot.close(figure)
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))


def analyze(paths, out_dir, sigmoid="logistic", n_bootstrap=200, seed=0, lapse=None, ci=0.95,
            fitter="auto", plot=True, force=False, yes=False):
    """Fit each participant and all participants pooled, per design; write the summary and a plot.

    Parameters
    ----------
    paths : list of str
        PsychoPy wide CSV data files.
    out_dir : str
        Folder for ``summary.csv`` and ``psychometric.png`` (created if missing).
    sigmoid : {"logistic", "normal"}, default="logistic"
    n_bootstrap : int, default=200
        Parametric bootstrap samples for the intervals (scipy fitter).
    seed : int, default=0
        Seed of the bootstrap.
    lapse : float or None
        Fix the lapse rate instead of fitting it.
    ci : float, default=0.95
        Coverage of the intervals.
    fitter : {"auto", "scipy", "psignifit"}, default="auto"
        "auto" uses psignifit (an optional GPLv3 extra) for identification data when it is
        installed, the maximum-likelihood fit otherwise.
    plot : bool, default=True
    force : bool, default=False
        Replace existing output files.
    yes : bool, default=False
        Fit more bootstrap samples in all than the cap of :data:`gaia_stim.core.limits.CAPS`
        (``"bootstrap_fits"``), which is otherwise refused before any fit.

    Returns
    -------
    list of dict
        The summary rows (as written to ``summary.csv``).
    """
    if sigmoid not in psychometric.SIGMOIDS:
        raise InputError(f"sigmoid must be one of {', '.join(psychometric.SIGMOIDS)}; got {sigmoid!r}")
    summary_path = os.path.join(out_dir, SUMMARY_FILE)
    plot_path = os.path.join(out_dir, PLOT_FILE)
    for path in (summary_path, plot_path):
        if os.path.exists(path) and not force:
            raise OutputExistsError(f"{path!r} exists; pass --force to replace it or choose another --out")
    groups = read_data_files(paths)
    designs = sorted({design for design, _ in groups})
    for design in designs:
        participants = [key for key in groups if key[0] == design]
        if len(participants) > 1:
            levels = np.concatenate([groups[key][0] for key in participants])
            responses = np.concatenate([groups[key][1] for key in participants])
            groups[(design, POOLED)] = (levels, responses)

    fitters = {design: _choose_fitter(fitter, design) for design in designs}
    bootstrapped = sum(fitters[design] == "scipy" for design, _ in groups)  # psignifit needs no bootstrap
    check_work("bootstrap_fits", bootstrapped * int(n_bootstrap), yes,
               f"--bootstrap {int(n_bootstrap):,} x {bootstrapped} groups", "lower --bootstrap")
    records, results = [], {}
    for key in sorted(groups, key=lambda k: (k[0], k[1] == POOLED, k[1])):
        design, participant = key
        levels, responses = groups[key]
        chosen = _choose_fitter(fitter, design)
        result = _fit_group(design, levels, responses, sigmoid, n_bootstrap, seed, lapse, ci, chosen)
        results[key] = result
        intervals = result["intervals"]
        records.append({
            "design": design, "participant": participant, "n_trials": int(len(responses)),
            "fitter": result["fitter"], "sigmoid": sigmoid,
            "pse": result["pse"], "pse_ci_low": intervals["pse"][0], "pse_ci_high": intervals["pse"][1],
            "slope": result["slope"], "slope_ci_low": intervals["slope"][0], "slope_ci_high": intervals["slope"][1],
            "lapse": result["lapse"], "lapse_ci_low": intervals["lapse"][0], "lapse_ci_high": intervals["lapse"][1],
            "log_likelihood": result["log_likelihood"], "ci_level": ci,
            "n_bootstrap": n_bootstrap if result["fitter"] == "scipy-ml" else 0, "seed": seed,
        })
    os.makedirs(out_dir, exist_ok=True)
    table = _summary_bytes(records)
    atomic_write(summary_path, lambda stream: stream.write(table))
    if plot:
        _plot(plot_path, groups, results, sigmoid)
    return records
