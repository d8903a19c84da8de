"""An image moved along an attribute axis, and what else changes along the way (the leakage report).

:func:`attribute_series` encodes one image, moves its code along an axis of
:class:`~gaia_stim.stimuli.axes.AttributeAxes` by given amounts (attribute units), decodes every
step, and reads every attribute out of each decoded image in two ways:

* ``readout``: the axes' linear read-out (codes -> attributes, fitted on the labelled codes),
  applied to the codes of the *decoded* images re-encoded, so what is measured is what the
  image carries, not the code that was asked for;
* ``measured`` (synthetic faces only): the 16 face parameters estimated from the pixels by
  :func:`gaia_stim.datasets.face_estimator.estimate_parameters`, which is independent of any
  GAIA model.

:func:`leakage_table` turns them into one row per attribute: the least-squares slope of its value
against the amount, and the change over the whole range. :func:`leakage_plot` draws the same.

The stimulus kind built on these, whose result the set writer writes with the report beside it,
is :func:`gaia_stim.stimuli.attributes.attribute_set`; both move the code with
:func:`move_along_axis`.
"""

import numpy as np
import pandas as pd

from gaia_stim.core.errors import InputError
from gaia_stim.stimuli.axes import CORRECTIONS, check_model, correct_codes

__all__ = ["attribute_series", "move_along_axis", "check_amounts", "leakage_table", "leakage_plot", "face_parameter_axes"]


def face_parameter_axes(axes):
    """The axes' attribute names that are synthetic-face parameters (empty if none)."""
    from gaia_stim.datasets import PARAMETERS

    return [name for name in axes.attribute_names_ if name in PARAMETERS]


def attribute_series(model, axes, image, axis, amounts, orthogonal_to=None, measure_faces=None,
                     corrections=CORRECTIONS):
    """One image moved along one attribute axis.

    Parameters
    ----------
    model : StimulusModel
        The model the axes were fitted on (checked by sha256 when the axes came from a file).
    axes : AttributeAxes
        Fitted.
    image : path or image array
        The image to manipulate (brought to the model's size and channels).
    axis : str
        One of ``axes.attribute_names_``.
    amounts : sequence of float
        How far to move, in units of the attribute (e.g. ``np.linspace(-3, 3, 7)``).
    orthogonal_to : str or list of str, optional
        Axes (or ``"all"``) the direction is made orthogonal to (:meth:`AttributeAxes.direction`).
    measure_faces : bool, optional
        Estimate the 16 face parameters of every image. By default, when the axes were fitted on
        face parameters and the model makes colour images of at least 32 px.
    corrections : int, default=CORRECTIONS
        How many times each step's code is read back and steered so that its image changes the
        axis' attribute by the amount and the others the model carries by nothing
        (:func:`gaia_stim.stimuli.axes.correct_codes`); 0 keeps the straight line along the axis.

    Returns
    -------
    dict
        ``images`` (n_steps, S, S, C) float32; ``amounts`` (n_steps,); ``codes`` (n_steps,
        latent_dim); ``readout`` DataFrame (n_steps, n_attributes); ``measured`` DataFrame
        (n_steps, 16) or None; ``axis``, ``orthogonal_to`` (list), ``changes`` (what was done to
        the input image), and ``direction`` (latent_dim,).
    """
    amounts = check_amounts(model, axes, amounts)
    pixels, changes = model.prepare(image)
    if len(pixels) != 1:
        raise InputError(f"give one image to manipulate; got {len(pixels)}")
    return {**move_along_axis(model, axes, model.encode(pixels), axis, amounts, orthogonal_to, measure_faces,
                              corrections),
            "changes": changes[0]}


# An amount is in attribute units. Further out than this many times the attribute's spread in the
# labelled images (its standard deviation), a code lies nowhere near a face the model learnt (and at
# 1e300 it overflows), as morph levels past 100 source distances do.
MAX_SPREADS = 100.0


def check_amounts(model, axes, amounts):
    """``amounts`` as float64 (n_steps,), once the axes are known to belong to ``model``."""
    model_sha256 = getattr(axes, "model_sha256_", None)
    if model_sha256 is not None and getattr(model, "file_sha256", None) is not None:
        check_model(model_sha256, model.file_sha256)
    amounts = np.asarray(amounts, dtype=np.float64).reshape(-1)
    if amounts.size == 0 or not np.all(np.isfinite(amounts)):
        raise InputError(f"amounts must be one or more finite numbers; got {amounts.tolist()}")
    return amounts


def move_along_axis(model, axes, start, axis, amounts, orthogonal_to=None, measure_faces=None,
                    corrections=CORRECTIONS):
    """The code ``start`` (1, latent_dim) moved by ``amounts`` along ``axis``, decoded and read out.

    What :func:`attribute_series` and the attribute-series kind
    (:func:`gaia_stim.stimuli.attributes.attribute_set`) share; returns the same dict as
    ``attribute_series`` but for ``changes``.
    """
    direction = axes.direction(axis, orthogonal_to)
    spread = float(axes.attribute_scale_[list(axes.attribute_names_).index(axis)])
    farthest = float(np.abs(amounts).max())
    if spread > 0 and farthest > MAX_SPREADS * spread:
        raise InputError(
            f"amounts (--range) reach {farthest:g}, {farthest / spread:.3g} times the spread of {axis!r} in the"
            f" labelled images (sd {spread:.3g}); the model draws nothing meaningful that far out: keep them within"
            f" -{MAX_SPREADS * spread:.3g} {MAX_SPREADS * spread:.3g}"
        )
    codes = start.astype(np.float64) + amounts[:, None] * direction
    asked = np.zeros((len(amounts), len(axes.attribute_names_)))
    asked[:, list(axes.attribute_names_).index(axis)] = amounts
    codes = correct_codes(axes, model, start, codes, asked, corrections).astype(np.float32)
    images = model.decode(codes)
    readout = pd.DataFrame(axes.transform(model.encode(images)), columns=axes.attribute_names_)
    if measure_faces is None:
        measure_faces = bool(face_parameter_axes(axes)) and model.channels == 3 and model.image_size >= 32
    measured = None
    if measure_faces:
        from gaia_stim.datasets.face_estimator import estimate_parameters
        from gaia_stim.datasets import PARAMETERS

        measured = pd.DataFrame(estimate_parameters(images), columns=list(PARAMETERS))
    others = axes.other_axes(axis, orthogonal_to)
    return {
        "images": images,
        "amounts": amounts,
        "codes": codes,
        "readout": readout,
        "measured": measured,
        "axis": axis,
        "orthogonal_to": others,
        "direction": direction,
        "corrections": corrections,
    }


def _slopes(amounts, values):
    """Least-squares slope of each column of ``values`` (n_steps, k) against ``amounts``."""
    centred = amounts - amounts.mean()
    denominator = centred @ centred
    if denominator == 0:
        return np.zeros(values.shape[1])
    return centred @ (values - values.mean(axis=0)) / denominator


def leakage_table(series, axes):
    """One row per attribute and source: how much it moves along the manipulation.

    Columns: ``attribute``; ``source`` (``readout`` or ``face_estimator``); ``manipulated``
    (the axis itself); ``slope`` (change per unit of the axis, least squares over the steps);
    ``change_over_range`` (slope times the span of the amounts); ``change_in_sd`` (that change
    over the attribute's standard deviation in the labels; read-outs only); ``first`` and
    ``last`` (value at the first and last step).

    For the manipulated attribute a slope of 1 means the axis is in true units; for the others,
    0 means no leakage.
    """
    amounts = series["amounts"]
    span = float(amounts.max() - amounts.min())
    scale = dict(zip(axes.attribute_names_, axes.attribute_scale_))
    rows = []
    for source, table in (("readout", series["readout"]), ("face_estimator", series["measured"])):
        if table is None:
            continue
        values = table.to_numpy(dtype=np.float64)
        for name, slope, first, last in zip(table.columns, _slopes(amounts, values), values[0], values[-1]):
            change = slope * span
            rows.append(
                {
                    "attribute": name,
                    "source": source,
                    "manipulated": name == series["axis"],
                    "slope": float(slope),
                    "change_over_range": float(change),
                    "change_in_sd": float(change / scale[name]) if source == "readout" and scale[name] > 0 else np.nan,
                    "first": float(first),
                    "last": float(last),
                }
            )
    return pd.DataFrame(rows)


def leakage_plot(series, path, title=None):
    """Draw every attribute's change along the manipulation (one panel per source) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sources = [("readout", "linear read-out from the codes", series["readout"])]
    if series["measured"] is not None:
        sources.append(("face_estimator", "face parameters measured from the pixels", series["measured"]))
    amounts = series["amounts"]
    figure, panels = plt.subplots(1, len(sources), figsize=(6.5 * len(sources), 4.5), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    for panel, (_, label, table) in zip(panels[0], sources):
        for index, name in enumerate(table.columns):
            change = table[name].to_numpy() - table[name].to_numpy()[0]
            mine = name == series["axis"]
            panel.plot(amounts, change, color="black" if mine else colours[index % len(colours)], linewidth=2.5 if mine else 1.0,
                       alpha=1.0 if mine else 0.7, label=name, zorder=3 if mine else 2)
        panel.plot(amounts, amounts - amounts[0], color="grey", linestyle=":", linewidth=1, label="ideal")
        panel.set_xlabel(f"amount along {series['axis']} (attribute units)")
        panel.set_ylabel("change from the first step")
        panel.set_title(label, fontsize=10)
        panel.grid(alpha=0.3)
    panels[0][-1].legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
    return path
