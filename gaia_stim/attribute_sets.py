"""An attribute series on disk: a normal stimulus set, and its leakage report beside it.

``write_attribute_set(out_dir, ...)`` writes

* ``out_dir/``: a stimulus set (:func:`gaia_stim.io.sets.write_stimulus_set`), one image per
  step, named ``images/step_NN_<axis>_<amount>.png``. ``stimuli.csv`` holds ``step``, ``amount``
  and, per image, the read-out of every attribute (``readout_<name>``) and, for synthetic faces,
  every measured face parameter (``measured_<name>``): the leakage report image by image. The
  manifest holds the axis, the amounts, the axes file's sha256 and the leakage table;
* ``out_dir.leakage.csv`` and ``out_dir.leakage.png``: the leakage table
  (:func:`gaia_stim.stimuli.leakage.leakage_table`) and its plot, for reading at a glance.
"""

import hashlib
import io
import json
import os

import numpy as np

from gaia_stim.io.sets import source_columns, write_stimulus_set
from gaia_stim.io.tables import text_cell
from gaia_stim.core.atomic import atomic_write, file_sha256
from gaia_stim.core.ownership import check_output_file
from gaia_stim.stimuli.axes import column_name
from gaia_stim.stimuli.leakage import leakage_plot, leakage_table

__all__ = ["leakage_paths", "write_attribute_set"]


def leakage_paths(out_dir):
    """The leakage table and plot written beside the stimulus set ``out_dir``."""
    base = os.path.abspath(os.fspath(out_dir)).rstrip(os.sep)
    return base + ".leakage.csv", base + ".leakage.png"


def _amount_decimals(amounts):
    for decimals in range(2, 13):
        if len({f"{amount:.{decimals}f}" for amount in amounts}) == len(amounts):
            return decimals
    return 12


def _report_recorded(out_dir, path):
    """True if the attribute set at ``out_dir`` records ``path`` (beside it) with its present bytes."""
    try:
        with open(os.path.join(os.fspath(out_dir), "manifest.json"), encoding="utf-8") as stream:
            manifest = json.load(stream)
        recorded = manifest["summary"]["leakage_report"][os.path.basename(path)]
        return manifest.get("kind") == "attribute series" and recorded == file_sha256(path)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_attribute_set(out_dir, series, axes, model, source, axes_file=None, force=False):
    """Write an :func:`~gaia_stim.stimuli.leakage.attribute_series` result and its leakage report.

    Parameters
    ----------
    out_dir : str or path-like
        The stimulus-set folder; the report goes to ``out_dir.leakage.csv`` and ``.png``.
    series : dict
        From ``attribute_series``.
    axes : AttributeAxes
        The axes that made it.
    model : StimulusModel
    source : str
        The input image's path (for the table and the manifest).
    axes_file : str, optional
        The axes file, recorded with its sha256.
    force : bool, default=False
        Replace an existing set (and its report).

    Returns
    -------
    dict
        ``out_dir``, ``leakage_csv``, ``leakage_png``, ``leakage`` (the table).
    """
    csv_path, png_path = leakage_paths(out_dir)
    for path, what in ((csv_path, "an attribute set's leakage table"), (png_path, "an attribute set's leakage plot")):
        check_output_file(path, force, what, owned=lambda path: _report_recorded(out_dir, path),
                          inputs=(source, axes_file))
    amounts = [float(amount) for amount in series["amounts"]]
    decimals = _amount_decimals(amounts)
    step_width = max(2, len(str(len(amounts) - 1)))
    axis = series["axis"]
    from gaia_stim.stimuli._common import encode_sources, prepare_sources

    # the source image goes into the set (as given and as prepared), and the table names those copies
    sources = prepare_sources(model, [source], 1, "an attribute series")
    encode_sources(model, sources)  # how faithfully the model reconstructs it, for the contact sheet
    copies = source_columns(sources)
    source_name = os.path.basename(os.fspath(source)).encode("utf-8", "backslashreplace").decode()
    readout, measured = series["readout"], series["measured"]
    rows = []
    for step, amount in enumerate(amounts):
        row = {
            "image_file": f"images/step_{step:0{step_width}d}_{column_name(axis)}_{amount:+.{decimals}f}.png",
            "step": step,
            "axis": text_cell(axis, prefix="axis_"),
            "amount": amount,
            **copies,
        }
        row.update({f"readout_{name}": float(readout[name].iloc[step]) for name in readout.columns})
        if measured is not None:
            row.update({f"measured_{name}": float(measured[name].iloc[step]) for name in measured.columns})
        rows.append(row)
    table = leakage_table(series, axes)
    orthogonal = series["orthogonal_to"]
    parameters = {
        "axis": axis,
        "orthogonal_to": orthogonal,
        "amounts": amounts,
        "source": os.fspath(source),
        "source_sha256": file_sha256(source) if os.path.isfile(source) else None,
        "axes_file": os.fspath(axes_file) if axes_file else None,
        "axes_sha256": file_sha256(axes_file) if axes_file else None,
        "axes_params": axes.get_params(),
        "direction_norm": float(np.linalg.norm(series["direction"])),
        "leakage": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
        "seed": None,  # moving along an axis involves no randomness
    }
    shown = ", ".join(orthogonal) if len(orthogonal) <= 3 else f"{len(orthogonal)} other axes"
    condition = f", orthogonal to {shown}" if orthogonal else ""
    title = f"{axis}{condition}: amount in attribute units; model {getattr(model, 'name', 'unknown')}"
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n", float_format="%.6g")
    report = buffer.getvalue().encode("utf-8")
    plot = io.BytesIO()
    leakage_plot(series, plot, title=f"{axis}{condition} ({source_name})")
    # the set's manifest records the report's bytes: what proves later that gaia-stim wrote it
    summary = {"leakage_report": {os.path.basename(csv_path): hashlib.sha256(report).hexdigest(),
                                  os.path.basename(png_path): hashlib.sha256(plot.getvalue()).hexdigest()}}
    written = write_stimulus_set(
        out_dir, series["images"], rows, parameters, model, force=force, kind="attribute series",
        sources=sources, labels=[f"{amount:+.{decimals}f}" for amount in amounts], sheet_title=title,
        summary=summary,
    )
    atomic_write(csv_path, lambda stream: stream.write(report))
    atomic_write(png_path, lambda stream: stream.write(plot.getvalue()))
    return {"out_dir": written, "leakage_csv": csv_path, "leakage_png": png_path, "leakage": table}
