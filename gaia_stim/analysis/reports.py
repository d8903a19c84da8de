"""Fit every participant and the pooled data, write a summary CSV and a plot.

With discrimination data also: per pair and participant, observed discrimination beside the
labelling prediction from the participant's identification data (``discrimination.csv``), one
excess summary per design and participant (``excess.csv``) and, with two or more participants, the
group estimates as means of the participants' own fits (``group.csv``; the ``pooled`` row of
``summary.csv`` is instead one fit of all participants' trials concatenated). See
docs/categorical_perception.md.
"""

import csv
import io
import logging
import math
import os

import numpy as np

from gaia_stim.analysis import discrimination, groups as group_estimates, psychometric
from gaia_stim.analysis.data_files import read_data_files
from gaia_stim.core.errors import InputError
from gaia_stim.core.limits import check_work
from gaia_stim.designs.records import DESIGNS, get_design
from gaia_stim.io.tables import spreadsheet_safe
from gaia_stim.core.atomic import atomic_write
from gaia_stim.core.ownership import check_output_file

__all__ = ["analyze", "analyze_all", "SUMMARY_FILE", "PLOT_FILE", "DISCRIMINATION_FILE", "EXCESS_FILE",
           "GROUP_FILE", "POOLED"]

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.csv"
PLOT_FILE = "psychometric.png"
DISCRIMINATION_FILE = "discrimination.csv"
EXCESS_FILE = "excess.csv"
GROUP_FILE = "group.csv"
POOLED = "pooled"
FITTERS = ("auto", "scipy", "psignifit")

SUMMARY_COLUMNS = [
    "design", "participant", "n_trials", "fitter", "sigmoid",
    "pse", "pse_ci_low", "pse_ci_high",
    "slope", "slope_ci_low", "slope_ci_high",
    "lapse", "lapse_ci_low", "lapse_ci_high",
    "log_likelihood", "ci_level", "n_bootstrap", "seed",
]

DISCRIMINATION_COLUMNS = ["participant"] + discrimination.EXCESS_COLUMNS

# excess.csv: the keys of discrimination.excess_analysis's summary, in its order.
EXCESS_SUMMARY_COLUMNS = [
    "design", "participant", "n_pairs", "n_trials", "pse", "slope", "lapse",
    "mean_excess", "mean_excess_ci_low", "mean_excess_ci_high", "mean_excess_p",
    "boundary_excess", "boundary_excess_ci_low", "boundary_excess_ci_high", "boundary_excess_p",
    "within_excess", "within_excess_ci_low", "within_excess_ci_high", "within_excess_p",
    "excess_contrast", "excess_contrast_ci_low", "excess_contrast_ci_high", "excess_contrast_p",
    "peak_level", "p_overall", "p_boundary", "p_location", "p_omnibus", "omnibus_df",
    "beta_uniform", "beta_boundary", "n_bootstrap", "seed", "ci_level",
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


def _cell(value):
    if isinstance(value, (np.integer, np.bool_)):
        value = value.item()
    elif isinstance(value, np.floating):
        value = float(value)
    # participant ids and other text come from the data files: never a formula in a spreadsheet
    return repr(value) if isinstance(value, float) else spreadsheet_safe(value)


def _table_bytes(columns, records):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(record.get(k, math.nan)) for k in columns})
    return buffer.getvalue().encode("utf-8")


def _summary_bytes(records):
    return _table_bytes(SUMMARY_COLUMNS, records)


def _header_is(columns):
    """An existing CSV is analyze's own when its first line is the header analyze writes."""
    header = (",".join(columns) + "\n").encode("utf-8")

    def owned(path):
        with open(path, "rb") as stream:
            return stream.read(len(header)) == header
    return owned


def _is_png(path):
    with open(path, "rb") as stream:
        return stream.read(8) == b"\x89PNG\r\n\x1a\n"


def _observed(design, levels, responses):
    """Mean coded response per distinct trial type, and the x to plot it at (its mean level)."""
    keys, inverse = np.unique(levels, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    means = np.bincount(inverse, weights=responses) / np.bincount(inverse)
    counts = np.bincount(inverse)
    return keys, means, counts


def _plot(path, groups, results, sigmoid, discriminated=None, ci=0.95):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    discriminated = discriminated or {}
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
        elif design in discrimination.DISCRIMINATION_DESIGNS:
            # Per pair, whatever the spacing (the pooled trials: observed pairs and smoothed curves only).
            analysis = discriminated.get(key) or {"pairs": discrimination.pair_table(design, levels, responses, ci=ci)}
            _plot_discrimination(axis, design, levels, responses, analysis, sigmoid)
            axis.axvline(result["pse"], color="grey", ls="--", lw=0.8)
            _label_panel(axis, record, design, participant, result)
            axis.set_ylabel("proportion correct per pair", fontsize=8)
            continue
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
        _label_panel(axis, record, design, participant, result)
    for axis in list(axes.flat)[len(keys):]:
        axis.set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No metadata: the same fit gives the same bytes.
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    pyplot.close(figure)
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))


def _label_panel(axis, record, design, participant, result):
    low, high = result["intervals"]["pse"]
    axis.set_ylim(-0.03, 1.03)
    axis.set_title(
        f"{design}, {participant}\nPSE {result['pse']:.3f} [{low:.3f}, {high:.3f}],"
        f" slope {result['slope']:.2f}",
        fontsize=8,
    )
    axis.set_xlabel(record.x_label, fontsize=8)
    axis.set_ylabel(record.y_label, fontsize=8)
    axis.tick_params(labelsize=7)


def _plot_discrimination(axis, design, levels, responses, analysis, sigmoid):
    """Proportion correct per pair (with its interval) and the curves over the pair's mean level.

    One colour per step separation: the kernel-smoothed observed Pc (thin), and with the
    participant's identification the labelling prediction (dashed) and the labelling model with
    its fitted excess (solid), so continua whose pairs all differ in level still get a curve.
    """
    pairs = analysis["pairs"]
    curves = discrimination.discrimination_curve(
        design, levels, responses, estimate=analysis.get("identification"), sigmoid=sigmoid,
        excess_fit=analysis["tests"]["both"] if "tests" in analysis else None,
    )
    for number, (separation, rows) in enumerate(pairs.groupby("separation", sort=True)):
        colour = f"C{number % 10}"
        x = rows["mean_level"].to_numpy()
        pc = rows["proportion_correct"].to_numpy()
        error = np.vstack([pc - rows["pc_ci_low"].to_numpy(), rows["pc_ci_high"].to_numpy() - pc])
        axis.errorbar(x, pc, yerr=np.clip(error, 0, None), fmt="o", ms=3, color=colour, elinewidth=0.8,
                      capsize=1.5, zorder=3, label=f"{int(separation)} step{'s' if separation != 1 else ''}")
        curve = curves[curves["separation"] == separation]
        if curve["fitted_pc"].notna().any():
            axis.plot(curve["mean_level"], curve["labelling_pc"], color=colour, ls="--", lw=1)
            axis.plot(curve["mean_level"], curve["fitted_pc"], color=colour, ls="-", lw=1.2)
        else:
            axis.plot(curve["mean_level"], curve["smoothed_pc"], color=colour, ls="-", lw=1)
    axis.axhline(0.5, color="grey", lw=0.5, ls=":")
    axis.legend(fontsize=6, loc="lower right", frameon=False,
                title="dashed: labelling, solid: fitted" if "tests" in analysis else "line: smoothed",
                title_fontsize=6)


def analyze_all(paths, out_dir, sigmoid="logistic", n_bootstrap=200, seed=0, lapse=None, ci=0.95,
                fitter="auto", plot=True, force=False, yes=False):
    """Fit each participant and all participants pooled, per design; write the tables and a plot.

    Writes ``summary.csv`` (one fit per design and participant, and per design one ``pooled``
    fit of all participants' trials concatenated) and ``psychometric.png``; with discrimination
    data ``discrimination.csv`` (per design, participant and pair: observed proportion correct
    and d', and, when the participant also did identification, the labelling prediction and the
    excess, :data:`discrimination.EXCESS_COLUMNS`) and ``excess.csv`` (per design and participant
    with identification: the excess summaries and tests of
    :func:`discrimination.excess_analysis`); with two or more participants with identification
    ``group.csv`` (:func:`groups.group_table`: means of the participants' own estimates with
    between-participant intervals).

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
    dict
        ``summary``: the summary rows (as written to ``summary.csv``); ``excess``: the rows of
        ``excess.csv``; ``written``: the names of the files written.
    """
    if sigmoid not in psychometric.SIGMOIDS:
        raise InputError(f"sigmoid must be one of {', '.join(psychometric.SIGMOIDS)}; got {sigmoid!r}")
    summary_path = os.path.join(out_dir, SUMMARY_FILE)
    plot_path = os.path.join(out_dir, PLOT_FILE)
    discrimination_path = os.path.join(out_dir, DISCRIMINATION_FILE)
    excess_path = os.path.join(out_dir, EXCESS_FILE)
    group_path = os.path.join(out_dir, GROUP_FILE)
    # Every file analyze may write is checked before any fit: an existing one is replaced only with
    # --force and only when it is analyze's own (its header, or a PNG), never a user's file.
    outputs = [
        (summary_path, "a summary table", _header_is(SUMMARY_COLUMNS)),
        (plot_path, "a psychometric plot", _is_png),
        (discrimination_path, "a discrimination table", _header_is(DISCRIMINATION_COLUMNS)),
        (excess_path, "an excess table", _header_is(EXCESS_SUMMARY_COLUMNS)),
        (group_path, "a group table", _header_is(group_estimates.GROUP_COLUMNS)),
    ]
    for path, what, owned in outputs:
        check_output_file(path, force, what, owned=owned, inputs=paths)
    groups = read_data_files(paths)
    pair_rows, excess_rows, discriminated = _discrimination(groups, sigmoid, lapse, n_bootstrap, seed, ci)
    group_rows = None
    identified = [p for design, p in groups if design == "identification"]
    if len(identified) >= 2:
        table = group_estimates.participant_table(groups, sigmoid=sigmoid, lapse=lapse, n_bootstrap=0, seed=seed,
                                                  ci=ci)
        group_rows = group_estimates.group_table(table, ci=ci, seed=seed).to_dict("records")
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
    written = [SUMMARY_FILE]
    for path, columns, rows in ((discrimination_path, DISCRIMINATION_COLUMNS, pair_rows),
                                (excess_path, EXCESS_SUMMARY_COLUMNS, excess_rows),
                                (group_path, group_estimates.GROUP_COLUMNS, group_rows)):
        if rows:
            content = _table_bytes(columns, rows)
            atomic_write(path, lambda stream, content=content: stream.write(content))
            written.append(os.path.basename(path))
    if plot:
        _plot(plot_path, groups, results, sigmoid, discriminated, ci)
        written.append(PLOT_FILE)
    return {"summary": records, "excess": excess_rows, "written": written}


def _discrimination(groups, sigmoid, lapse, n_bootstrap, seed, ci):
    """Per discrimination design and participant: pair rows, excess summaries, and the analyses to plot.

    A participant with identification data gets the labelling prediction and the excess
    (:func:`discrimination.excess_analysis`); one without, the observed pairs only (the predicted
    columns empty).
    """
    pair_rows, excess_rows, analyses = [], [], {}
    paired = set(group_estimates.paired_participants(groups))
    for design, participant in sorted(groups):
        if design not in discrimination.DISCRIMINATION_DESIGNS:
            continue
        levels, responses = groups[(design, participant)]
        if (design, participant) in paired:
            analysis = discrimination.excess_analysis(
                design, levels, responses, *groups[("identification", participant)], sigmoid=sigmoid, lapse=lapse,
                n_bootstrap=n_bootstrap, seed=seed, ci=ci,
            )
            excess_rows.append({"participant": participant, **analysis["summary"]})
        else:
            analysis = {"pairs": discrimination.pair_table(design, levels, responses, ci=ci)}
        pairs = analysis["pairs"]
        pair_rows.extend({"participant": participant, **row} for row in pairs.to_dict("records"))
        analyses[(design, participant)] = analysis
    return pair_rows, excess_rows, analyses


def analyze(paths, out_dir, sigmoid="logistic", n_bootstrap=200, seed=0, lapse=None, ci=0.95,
            fitter="auto", plot=True, force=False, yes=False):
    """Fit each participant and all participants pooled, per design; write the summary and a plot.

    The same as :func:`analyze_all` (which see for the parameters and the files written), returning
    only the summary rows (as written to ``summary.csv``).
    """
    return analyze_all(paths, out_dir, sigmoid=sigmoid, n_bootstrap=n_bootstrap, seed=seed, lapse=lapse, ci=ci,
                       fitter=fitter, plot=plot, force=force, yes=yes)["summary"]
