"""Attribute series as a kind of stimulus: one image moved along an attribute axis, with its leakage report.

:func:`attribute_set` encodes the image, moves its code along an axis of fitted
:class:`~gaia_stim.stimuli.axes.AttributeAxes` by the given amounts (attribute units), decodes every
step and reads every attribute out of each image (:func:`gaia_stim.stimuli.leakage.move_along_axis`).
It returns a :class:`~gaia_stim.io.results.StimulusResult` of kind ``"attribute series"`` that
:func:`gaia_stim.io.sets.write_set` writes as

* ``out_dir/``: a stimulus set, one image per step, named ``images/step_NN_<axis>_<amount>.png``.
  ``stimuli.csv`` holds ``step``, ``axis``, ``amount``, the set's copies of the source and, per
  image, the read-out of every attribute (``readout_<name>``) and, for synthetic faces, every
  measured face parameter (``measured_<name>``): the leakage report image by image. The manifest
  holds the axis, the amounts, the axes file and its sha256, and the leakage table;
* ``out_dir.leakage.csv`` and ``out_dir.leakage.png`` beside it: the leakage table
  (:func:`gaia_stim.stimuli.leakage.leakage_table`) and its plot, for reading at a glance; the
  manifest's summary records both by sha256 (``leakage_report``).

:func:`from_parameters` rebuilds the series for ``gaia-stim verify --regenerate``: it reads the axes
file from the path the manifest records (as given, else beside the set) and refuses one whose
sha256 is not the recorded one.

Scikit-learn and pandas are imported when a series is made, not when this module is imported (the
kinds' registry imports it).
"""

import io
import os

import numpy as np

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import DataError
from gaia_stim.io.results import StimulusResult
from gaia_stim.io.tables import text_cell
from gaia_stim.stimuli._common import encode_sources, prepare_sources

__all__ = ["KIND", "REPORT_SUFFIXES", "attribute_set", "from_parameters"]

KIND = "attribute series"
# The leakage report beside the set: table, then plot.
REPORT_SUFFIXES = (".leakage.csv", ".leakage.png")


def _amount_decimals(amounts):
    """Decimals that tell every amount apart in file names and labels (2 at least)."""
    for decimals in range(2, 13):
        if len({f"{amount:.{decimals}f}" for amount in amounts}) == len(amounts):
            return decimals
    return 12


def _shown_name(source):
    """How the source is named in the plot's title: its file's base name (``array`` for an array)."""
    return os.path.basename(source).encode("utf-8", "backslashreplace").decode()


def attribute_set(model, axes, image, axis, amounts, orthogonal_to=None, axes_file=None, measure_faces=None,
                  corrections=None):
    """One image moved along one attribute axis, as a stimulus set with its leakage report.

    Parameters
    ----------
    model : StimulusModel
        The model the axes were fitted on (checked by sha256 when the axes came from a file).
    axes : AttributeAxes or str or path-like
        Fitted axes, or an axes file from ``gaia-stim axes fit`` (then also ``axes_file``).
    image : str, path-like or image array
        The image to manipulate (brought to the model's size and channels, copied into the set).
    axis : str
        One of ``axes.attribute_names_``.
    amounts : sequence of float
        How far to move, in units of the attribute (e.g. ``np.linspace(-3, 3, 7)``).
    orthogonal_to : str or list of str, optional
        Axes (or ``"all"``) the direction is made orthogonal to (:meth:`AttributeAxes.direction`).
    axes_file : str or path-like, optional
        The file ``axes`` was read from, recorded with its sha256: without it the set cannot be
        regenerated.
    measure_faces : bool, optional
        Estimate the 16 face parameters of every image (see
        :func:`gaia_stim.stimuli.leakage.attribute_series`); by default for face-parameter axes on a
        colour model of 32 px or more. Recorded in the parameters only when given.
    corrections : int, optional
        How many times each step's code is read back and steered so that its image changes only
        the axis' attribute (:func:`gaia_stim.stimuli.axes.correct_codes`); default
        ``CORRECTIONS`` (0: the straight line along the axis). Recorded in the parameters.

    Returns
    -------
    StimulusResult
        Of kind ``"attribute series"``: ``images`` (n_steps, S, S, C), ``latents`` (the moved
        codes), ``rows`` (``step``, ``axis``, ``amount``), ``measurements`` (``readout_<name>``,
        ``measured_<name>``), the leakage report as ``reports``. Its ``details``: ``amounts``,
        ``readout`` and ``measured`` (DataFrames), ``axis``, ``orthogonal_to`` (list),
        ``direction``, ``changes`` (what was done to the image) and ``leakage`` (the table).

    Raises
    ------
    InputError
        An unknown axis, amounts that are not finite numbers, or an image that is not one.
    ModelFileError
        The axes were fitted on another model, or the axes file cannot be read.

    Examples
    --------
    >>> result = attribute_set(model, "axes.npz", "face.png", "smile", np.linspace(-3, 3, 7))  # doctest: +SKIP
    >>> write_set("smile", result, model)  # doctest: +SKIP
    """
    if isinstance(axes, (str, os.PathLike)):
        from gaia_stim.stimuli.axes import load_axes

        axes_file = axes if axes_file is None else axes_file
        axes = load_axes(axes, model_sha256=getattr(model, "file_sha256", None))
    source = os.fspath(image) if isinstance(image, (str, os.PathLike)) else "array"
    return _attribute_set(model, axes, image, axis, amounts, orthogonal_to, measure_faces, source, axes_file,
                          corrections=corrections)


def _attribute_set(model, axes, image, axis, amounts, orthogonal_to, measure_faces, source, axes_file,
                   axes_path=None, corrections=None):
    """The series; ``source`` and ``axes_file`` are recorded as given, ``axes_path`` is read (default: axes_file)."""
    from gaia_stim.core.limits import CORRECTIONS
    from gaia_stim.stimuli.axes import column_name
    from gaia_stim.stimuli.leakage import check_amounts, leakage_plot, leakage_table, move_along_axis

    amounts = check_amounts(model, axes, amounts)
    # the source goes into the set (as given and as prepared); its code is the one the series moves
    sources = prepare_sources(model, [image], 1, "an attribute series")
    corrections = CORRECTIONS if corrections is None else corrections
    series = move_along_axis(model, axes, encode_sources(model, sources), axis, amounts, orthogonal_to, measure_faces,
                             corrections)
    amounts = [float(amount) for amount in series["amounts"]]
    decimals = _amount_decimals(amounts)
    step_width = max(2, len(str(len(amounts) - 1)))
    readout, measured = series["readout"], series["measured"]
    rows, measurements = [], []
    for step, amount in enumerate(amounts):
        rows.append({"step": step, "axis": text_cell(axis, prefix="axis_"), "amount": amount})
        measures = {f"readout_{name}": float(readout[name].iloc[step]) for name in readout.columns}
        if measured is not None:
            measures.update({f"measured_{name}": float(measured[name].iloc[step]) for name in measured.columns})
        measurements.append(measures)
    table = leakage_table(series, axes)
    orthogonal = series["orthogonal_to"]
    image_file = os.fspath(image) if isinstance(image, (str, os.PathLike)) else None
    axes_path = axes_file if axes_path is None else axes_path
    parameters = {
        "axis": axis,
        "orthogonal_to": orthogonal,
        "amounts": amounts,
        "source": source,
        "source_sha256": file_sha256(image_file) if image_file is not None and os.path.isfile(image_file) else None,
        "axes_file": os.fspath(axes_file) if axes_file else None,
        "axes_sha256": file_sha256(axes_path) if axes_file else None,
        "axes_params": axes.get_params(),
        "direction_norm": float(np.linalg.norm(series["direction"])),
        "corrections": corrections,
        "leakage": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
        **({"measure_faces": bool(measure_faces)} if measure_faces is not None else {}),
        "seed": None,  # moving along an axis involves no randomness
    }
    shown = ", ".join(orthogonal) if len(orthogonal) <= 3 else f"{len(orthogonal)} other axes"
    condition = f", orthogonal to {shown}" if orthogonal else ""
    report = io.StringIO()
    table.to_csv(report, index=False, lineterminator="\n", float_format="%.6g")
    plot = io.BytesIO()
    leakage_plot(series, plot, title=f"{axis}{condition} ({_shown_name(source)})")
    return StimulusResult(
        kind=KIND,
        images=series["images"],
        latents=series["codes"],
        rows=rows,
        measurements=measurements,
        model_column=False,
        file_names=[f"step_{step:0{step_width}d}_{column_name(axis)}_{amount:+.{decimals}f}.png"
                    for step, amount in enumerate(amounts)],
        labels=[f"{amount:+.{decimals}f}" for amount in amounts],
        sheet_title=f"{axis}{condition}: amount in attribute units; model {getattr(model, 'name', 'unknown')}",
        parameters=parameters,
        sources=sources,
        reports=dict(zip(REPORT_SUFFIXES, (report.getvalue().encode("utf-8"), plot.getvalue()))),
        report_key="leakage_report",
        input_files=(os.fspath(axes_path),) if axes_file else (),
        details={**{key: series[key] for key in ("amounts", "readout", "measured", "axis", "orthogonal_to",
                                                  "direction")},
                 "changes": sources[0]["changes"], "leakage": table},
    )


def _set_folder(sources):
    """The folder of the set whose copy of the source is ``sources[0]`` (``SET/sources/given/NAME``)."""
    copy = os.path.abspath(os.fspath(sources[0]))
    return os.path.dirname(os.path.dirname(os.path.dirname(copy)))


def _recorded_axes(sources, parameters):
    """The axes file the parameters record, found as given or beside the set, with its recorded sha256."""
    recorded, wanted = parameters.get("axes_file"), parameters.get("axes_sha256")
    if not (isinstance(recorded, str) and isinstance(wanted, str)):
        raise DataError(
            "this attribute set records no axes file (it was made from axes in memory), so it cannot be"
            " regenerated; verify it without --regenerate"
        )
    candidates = [recorded]
    if not os.path.isabs(recorded):  # as given on the command line: relative to where it was run
        candidates.append(os.path.join(os.path.dirname(_set_folder(sources)), recorded))
    found = [path for path in candidates if os.path.isfile(path)]
    for path in found:
        if file_sha256(path) == wanted:
            return path
    if found:
        raise DataError(
            f"axes file {found[0]!r} has changed since the attribute set was made (its sha256 is not the recorded"
            f" {wanted[:12]}...): restore the axes file the set was made with, or verify without --regenerate"
        )
    raise DataError(
        f"the axes file this attribute set was made with, {recorded!r}, is missing (looked at"
        f" {', '.join(map(repr, dict.fromkeys(candidates)))}): put it back, or verify without --regenerate"
    )


def from_parameters(model, sources, parameters):
    """Rebuild an attribute series from a manifest's parameters and the set's copy of its source.

    Raises
    ------
    DataError
        The axes file is not recorded, missing, or changed since the set was made.
    """
    from gaia_stim.stimuli.axes import load_axes

    axes_path = _recorded_axes(sources, parameters)
    axes = load_axes(axes_path, model_sha256=getattr(model, "file_sha256", None))
    # the source is the set's copy; it is recorded, and named in the plot, as it was first given
    return _attribute_set(model, axes, sources[0], parameters["axis"], parameters["amounts"],
                          parameters["orthogonal_to"] or None, parameters.get("measure_faces"), parameters["source"],
                          parameters["axes_file"], axes_path,
                          corrections=parameters.get("corrections", 0))  # sets made before corrections: none

