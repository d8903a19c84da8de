"""Morph continua: images along a path through the model's latent space.

The source images are encoded and the path runs straight from code to code (A -> B, or
A -> B -> C ...); every step is decoded, so each step is a model image rather than a cross-fade.
Morph level 0 is the first image, 1 the second, 2 the third...; levels below 0 or beyond the last
image extrapolate along the first or last segment (caricatures and anti-caricatures).
"""

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.io.results import StimulusResult
from gaia_stim.metrics import check_metric, coefficient_of_variation, step_distances
from gaia_stim.stimuli._common import check_count, check_range, decode, encode_sources, equal_steps, prepare_sources

__all__ = ["SPACINGS", "continuum", "from_parameters"]

# "linear": equal steps of the morph level along the latent path; "equal": steps of equal distance
# between consecutive images in the chosen metric.
SPACINGS = ("linear", "equal")


def _path(codes, levels):
    """Latent codes at ``levels`` on the polyline through ``codes`` (float64; exact at whole levels)."""
    segment = np.clip(np.floor(levels), 0, len(codes) - 2).astype(int)
    fraction = (levels - segment)[:, None]
    return (1.0 - fraction) * codes[segment] + fraction * codes[segment + 1]


def _decimals(levels):
    """Decimals that tell every level apart in file names and labels (3 at least)."""
    for decimals in range(3, 13):
        if len({f"{level:.{decimals}f}" for level in levels}) == len(levels):
            return decimals
    return 12


def continuum(model, image_a, image_b, *more_images, n_steps=11, spacing="linear", metric="pixel",
              level_range=None):
    """A morph continuum through two or more images, in ``n_steps`` images.

    Each image is cropped, resized and converted to the model's size and channels (see
    :func:`gaia_stim.core.images.prepare_image`; what was done is in each source's ``changes``),
    encoded, and the codes joined by straight segments: between images k and k+1,
    ``z(t) = (1 - u) z_k + u z_{k+1}`` with ``u = t - k``.

    Parameters
    ----------
    model : object
        A loaded model (:func:`gaia_stim.load_model`): ``encode``, ``decode``, ``image_size``,
        ``channels``.
    image_a, image_b, *more_images : str, path-like or ndarray
        Image files, or arrays of shape (H, W) or (H, W, C) (uint8, or float in [0, 1]).
    n_steps : int, default=11
        Number of images, both ends included; 2 or more.
    spacing : {"linear", "equal"}, default="linear"
        ``linear``: morph levels ``LOW + (HIGH - LOW) i / (n_steps - 1)``. ``equal``: levels moved
        so that consecutive images are equally far apart in ``metric``.
    metric : {"pixel", "ssim", "nlpd", "feature"}, default="pixel"
        The distance recorded for every step (and equalised by ``spacing="equal"``).
    level_range : (float, float), optional
        LOW and HIGH morph levels; default (0, number of images - 1). Beyond them the path is
        extrapolated, e.g. (-0.5, 1.5) for anti-caricatures and caricatures.

    Returns
    -------
    StimulusResult
        Of kind ``"continuum"`` (what :func:`gaia_stim.io.sets.write_set` writes):
        ``images`` : ndarray of shape (n_steps, S, S, C), float32 in [0, 1];
        ``latents`` : ndarray of shape (n_steps, latent_dim), float32; ``rows`` (``step``,
        ``morph_level``, ``distance_<metric>``), ``file_names``, ``labels``, ``caption``,
        ``parameters``, ``summary``, ``sources``. Its ``details`` (also read as
        ``result["morph_levels"]``): ``morph_levels`` : ndarray of shape (n_steps,), float64;
        ``step_distances`` : ndarray of shape (n_steps - 1,), in ``metric``; ``endpoints`` (the
        prepared first and last images), ``source_a``, ``source_b``, ``input_sha256``,
        ``input_changes``, ``n_steps``, ``spacing``, ``metric``.

    Raises
    ------
    InputError
        ``n_steps`` is not an integer >= 2, ``spacing``, ``metric`` or ``level_range`` is bad,
        or an array is not an image.
    DataError
        An image file is missing or unreadable.

    Examples
    --------
    >>> import gaia_stim as gs
    >>> model = gs.load_model("default")  # doctest: +SKIP
    >>> result = continuum(model, "a.png", "b.png", n_steps=11, spacing="equal", metric="ssim")  # doctest: +SKIP
    >>> result.images.shape  # doctest: +SKIP
    (11, 64, 64, 3)
    """
    n_steps = check_count(n_steps, "n_steps", example=" (e.g. n_steps=11 for morph levels 0, 0.1, ..., 1)")
    if spacing not in SPACINGS:
        raise InputError(f"spacing must be one of {', '.join(map(repr, SPACINGS))}; got {spacing!r}")
    check_metric(metric, model, model.image_size)
    sources = prepare_sources(model, (image_a, image_b, *more_images), 2, "a continuum")
    low, high = check_range((0, len(sources) - 1) if level_range is None else level_range, n_sources=len(sources))
    codes = encode_sources(model, sources)

    def render(levels):
        return decode(model, _path(codes, levels))

    # (i / (n - 1)) * 1.0 is the correctly rounded level (linspace gives 0.30000000000000004 for 0.3).
    levels = low + (high - low) * (np.arange(n_steps, dtype=np.float64) / (n_steps - 1))
    if spacing == "equal" and n_steps > 2:
        levels, latents, images, steps = equal_steps(levels, render, metric, model)
    else:
        latents, images = render(levels)
        steps = step_distances(images, metric, model)
    return _result(model, sources, levels, latents, images, steps, n_steps, spacing, metric, (low, high))


def _result(model, sources, levels, latents, images, steps, n_steps, spacing, metric, level_range):
    decimals = _decimals(levels)
    step_width = max(2, len(str(n_steps - 1)))
    column = f"distance_{metric}"
    rows = [
        {"step": step, "morph_level": float(level), column: float(steps[step - 1]) if step else 0.0}
        for step, level in enumerate(levels)
    ]
    return StimulusResult(
        kind="continuum",
        images=images,
        latents=latents,
        rows=rows,
        file_names=[f"step_{step:0{step_width}d}_morph_{level:.{decimals}f}.png" for step, level in enumerate(levels)],
        labels=[f"{level:.{decimals}f}" for level in levels],
        caption="morph level: " + ", ".join(f"{role} = {k}" for k, role in enumerate(source["role"] for source in sources))
        + f"; {spacing} spacing",
        parameters={
            "sources": [source["source"] for source in sources],
            "source_a": sources[0]["source"],
            "source_b": sources[1]["source"],
            "n_steps": n_steps,
            "spacing": spacing,
            "method": spacing,
            "metric": metric,
            "level_range": list(level_range),
            "morph_levels": [float(level) for level in levels],
            "seed": None,  # a continuum involves no randomness
        },
        summary={
            "step_distance_metric": metric,
            "step_distance_mean": float(np.mean(steps)),
            "step_distance_cv": coefficient_of_variation(steps),
        },
        sources=sources,
        details={
            "morph_levels": levels,
            "step_distances": steps,
            "endpoints": np.stack([sources[0]["prepared"], sources[-1]["prepared"]]),
            "source_a": sources[0]["source"],
            "source_b": sources[1]["source"],
            "input_sha256": [source["sha256"] for source in sources],
            "input_changes": [source["changes"] for source in sources],
            "n_steps": n_steps,
            "spacing": spacing,
            "method": spacing,
            "metric": metric,
        },
    )


def from_parameters(model, sources, parameters):
    """Rebuild a continuum from a manifest's parameters and the set's copies of its sources."""
    return continuum(model, *sources, n_steps=parameters["n_steps"], spacing=parameters["spacing"],
                     metric=parameters["metric"], level_range=parameters["level_range"])
