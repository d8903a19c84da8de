"""The report of ``gaia-stim scale``: an MLDS scale per participant and per group, written as a folder.

The folder holds ``scale.csv`` (one row per fit and stimulus), ``scale.png`` (the scales with their
intervals beside equal steps), ``scale.json`` (the record: method, seed, versions, the inputs'
sha256, the stimulus set, every fit) and ``manifest.json`` (its files, so that ``--force`` replaces
only a scale folder gaia-stim wrote). :func:`read_scale` reads one fit back for
``continuum --spacing perceptual``. The fits themselves are :mod:`gaia_stim.analysis.mlds_model`'s,
the data files :mod:`gaia_stim.analysis.mlds_data`'s.
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
from gaia_stim.analysis.mlds_data import read_scale_data
from gaia_stim.analysis.mlds_model import MLDSWarning, bootstrap, fit, group_scale
from gaia_stim.core.errors import DataError, InputError

__all__ = ["SCALE_FILE", "PLOT_FILE", "RECORD_FILE", "GROUP", "SCALE_COLUMNS", "analyze_scale", "read_scale"]

logger = logging.getLogger(__name__)

SCALE_FILE = "scale.csv"
PLOT_FILE = "scale.png"
RECORD_FILE = "scale.json"
FOLDER_FORMAT = "gaia-stim perceptual scale"
FOLDER_WHAT = "gaia-stim perceptual scale folder"
RECORD_FORMAT = "gaia-stim perceptual scale record"
GROUP = "group"

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
        # the columns the protocols write, from the trial list's JSON file
        "set_manifest_sha256": set_record["manifest_sha256"],
        "set_table_sha256": set_record["table_sha256"],
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


def _participant_fits(data, n_bootstrap, seed, ci):
    """The fit and bootstrap of every (design, participant) of ``read_scale_data``'s ``data``, as plot and table records."""
    fits = []
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
    return fits


def _group_fits(fits, ci):
    """The group mean of each design with two or more participants shown the same stimuli."""
    groups = []
    for design in sorted({f["design"] for f in fits}):
        members = [f for f in fits if f["design"] == design]
        if len(members) < 2:
            continue
        stimulus_key = [None if f["levels"] is None else tuple(f["levels"]) for f in members]
        rank_key = [tuple(f["ranks"]) for f in members]
        if len(set(stimulus_key)) > 1 or len(set(rank_key)) > 1:
            # stacklevel 3: the warning names the line that called analyze_scale
            warnings.warn(
                f"the {design} participants were shown different stimuli (levels or numbers of stimuli"
                " differ), so no group mean is given; fit the data of one stimulus set together",
                MLDSWarning, stacklevel=3,
            )
            continue
        mean = group_scale([f["scale"] for f in members], [f["sigma"] for f in members], ci=ci)
        groups.append({
            "design": design, "participant": GROUP, "fit": "group mean",
            "n_trials": sum(f["n_trials"] for f in members), "n_participants": mean["n_participants"],
            "levels": members[0]["levels"], "steps": members[0]["steps"], "ranks": members[0]["ranks"],
            "x": members[0]["x"], "scale": mean["scale"], "interval": mean["scale_interval"],
            "sigma": mean["sigma"], "sigma_interval": mean["sigma_interval"], "runs_p": None,
            "log_likelihood": None, "n_used": None, "n_left_out": None, "n_separated": None, "ci": ci,
        })
    return groups


def _table_rows(fits, n_bootstrap, seed, ci):
    """The rows of scale.csv: one per fit and stimulus."""
    records = []
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
    return records


def _summaries(fits):
    """What analyze_scale returns: one line of numbers per fit."""
    return [
        {
            "design": f["design"], "participant": f["participant"], "fit": f["fit"], "n_trials": f["n_trials"],
            "n_participants": f["n_participants"], "sigma": f["sigma"], "sigma_interval": f["sigma_interval"],
            "runs_p": f["runs_p"], "n_left_out": f["n_left_out"],
        }
        for f in fits
    ]


def _fit_record(f):
    """One fit as scale.json holds it; a participant's also has its diagnostics and files."""
    return {
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


def _scale_record(fits, paths, data, set_record, n_bootstrap, seed, ci):
    """scale.json: the method, seed, versions, the inputs' sha256, the stimulus set and every fit."""
    from gaia_stim.core.atomic import file_sha256

    return {
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
        "fits": [_fit_record(f) for f in fits],
    }


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
        fits = _participant_fits(data, n_bootstrap, seed, ci)
        fits += _group_fits(fits, ci)
        with open(os.path.join(temporary, SCALE_FILE), "wb") as stream:
            stream.write(_table_bytes(_table_rows(fits, n_bootstrap, seed, ci)))
        files = [SCALE_FILE]
        if plot:
            _plot(os.path.join(temporary, PLOT_FILE), fits)
            files.append(PLOT_FILE)
        record = _scale_record(fits, paths, data, set_record, n_bootstrap, seed, ci)
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
    return _summaries(fits)


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
