"""Two-dimensional stimulus spaces: a grid of images spanned by three or four images.

Three images A, B, C span the plane through their codes, ``z(u, v) = z_A + u (z_B - z_A) +
v (z_C - z_A)``: A at the top left, B along the columns (u), C down the rows (v). Four images are
corners, mixed bilinearly: A top left, B top right, C bottom left, D bottom right.
"""

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.core.spacings import check_spacing
from gaia_stim.io.results import StimulusResult
from gaia_stim.metrics import check_metric
from gaia_stim.stimuli._common import check_count, check_range, decode, encode_sources, equal_steps, prepare_sources

__all__ = ["MAX_IMAGES", "grid", "plane_latents", "from_parameters"]

MAX_IMAGES = 1_000_000  # 64 px colour: 12 GiB of PNGs; the writer streams, so memory is not the limit


def plane_latents(codes, u, v):
    """The grid's codes at every (v, u) pair: the plane of three codes, or bilinear between four corners.

    Parameters
    ----------
    codes : ndarray of shape (3 or 4, latent_dim)
        A, B, C (the plane ``z_A + u (z_B - z_A) + v (z_C - z_A)``) or A, B, C, D (corners: A at
        u = v = 0, B at u = 1, C at v = 1, D at u = v = 1).
    u, v : sequence of float
        The levels along the columns and down the rows.

    Returns
    -------
    ndarray of shape (len(v) * len(u), latent_dim)
        Row by row (v outer, u inner); float64 for float64 codes.
    """
    uu, vv = np.meshgrid(u, v)  # (rows, columns)
    uu, vv = uu.reshape(-1, 1), vv.reshape(-1, 1)
    if len(codes) == 3:
        return codes[0] + uu * (codes[1] - codes[0]) + vv * (codes[2] - codes[0])
    return (1 - uu) * (1 - vv) * codes[0] + uu * (1 - vv) * codes[1] + (1 - uu) * vv * codes[2] + uu * vv * codes[3]


def grid(model, images, n_rows=5, n_columns=5, spacing="linear", metric="pixel", u_range=(0.0, 1.0),
         v_range=(0.0, 1.0)):
    """An ``n_rows`` x ``n_columns`` grid of images in the plane of three images, or between four corners.

    Parameters
    ----------
    model : object
        A loaded model.
    images : list of 3 or 4 paths or arrays
        A, B, C (a plane) or A, B, C, D (corners); see the module docstring.
    n_rows, n_columns : int, default=5
        Images down and across; 2 or more each.
    spacing : {"linear", "equal"}, default="linear"
        ``equal``: the u levels are moved so neighbouring images along the middle row are equally far
        apart in ``metric``, and the v levels likewise along the middle column.
    metric : {"pixel", "ssim", "nlpd", "feature"}, default="pixel"
    u_range, v_range : (float, float), default=(0, 1)
        The extent along each axis (beyond 0..1 extrapolates).

    Returns
    -------
    StimulusResult
        Of kind ``"grid"``: ``latents`` : ndarray of shape (n_rows * n_columns, latent_dim), float32,
        row by row; ``images`` : None (decode ``latents``, or write with
        :func:`gaia_stim.io.sets.write_set`, which decodes a batch at a time); ``rows`` (``row``,
        ``column``, ``u``, ``v``), ``file_names``, ``labels``, ``caption``, ``parameters``, ``sources``,
        ``sheet_columns``. Its ``details``: ``u``, ``v``, the levels along each axis.
    """
    n_rows = check_count(n_rows, "n_rows")
    n_columns = check_count(n_columns, "n_columns")
    if n_rows * n_columns > MAX_IMAGES:
        raise InputError(f"a grid of {n_rows} x {n_columns} images is more than {MAX_IMAGES:,}; make it smaller")
    check_spacing(spacing, "grid")
    check_metric(metric, model, model.image_size)
    images = list(images)
    if len(images) not in (3, 4):
        raise InputError(f"a grid needs 3 images (a plane) or 4 (corners); got {len(images)}")
    sources = prepare_sources(model, images, 3, "a grid")
    u_range, v_range = check_range(u_range, "--u-range"), check_range(v_range, "--v-range")
    codes = encode_sources(model, sources)
    u = u_range[0] + (u_range[1] - u_range[0]) * np.arange(n_columns) / (n_columns - 1)
    v = v_range[0] + (v_range[1] - v_range[0]) * np.arange(n_rows) / (n_rows - 1)
    if spacing == "equal":
        middle_u, middle_v = np.mean(u_range), np.mean(v_range)
        u = equal_steps(u, lambda levels: decode(model, plane_latents(codes, levels, [middle_v])), metric, model)[0]
        v = equal_steps(v, lambda levels: decode(model, plane_latents(codes, [middle_u], levels)), metric, model)[0]
    latents = plane_latents(codes, u, v).astype(np.float32)
    width = max(2, len(str(max(n_rows, n_columns) - 1)))
    rows, names, labels = [], [], []
    for row in range(n_rows):
        for column in range(n_columns):
            rows.append({"row": row, "column": column, "u": float(u[column]), "v": float(v[row])})
            names.append(f"r{row:0{width}d}_c{column:0{width}d}.png")
            labels.append(f"{u[column]:.2f}, {v[row]:.2f}")
    plane = "plane of a, b, c" if len(sources) == 3 else "corners a, b, c, d"
    return StimulusResult(
        kind="grid",
        latents=latents,
        rows=rows,
        file_names=names,
        labels=labels,
        sheet_columns=n_columns,
        caption=f"grid ({plane}); label u, v; {spacing} spacing",
        parameters={
            "sources": [source["source"] for source in sources],
            "n_rows": n_rows,
            "n_columns": n_columns,
            "spacing": spacing,
            "metric": metric,
            "u_range": list(u_range),
            "v_range": list(v_range),
            "u": [float(x) for x in u],
            "v": [float(x) for x in v],
            "seed": None,
        },
        sources=sources,
        details={"u": u, "v": v},
    )


def from_parameters(model, sources, parameters):
    """Rebuild a grid from a manifest's parameters and the set's copies of its sources."""
    return grid(model, sources, parameters["n_rows"], parameters["n_columns"], parameters["spacing"],
                parameters["metric"], parameters["u_range"], parameters["v_range"])
