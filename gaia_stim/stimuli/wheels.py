"""Stimulus wheels for continuous report: images on a circle in a latent plane around a centre image.

The plane is spanned by the directions from the centre's code to two other images' codes
(Gram-Schmidt orthonormalised): ``z(angle) = z_centre + radius (cos(angle) e1 + sin(angle) e2)``.
Angle 0 points towards image a, 90 degrees towards the part of image b orthogonal to it (as in the
scene wheels of Son, Walther & Mack 2021).
"""

import math

import numpy as np

from gaia_stim.errors import InputError
from gaia_stim.metrics import check_metric, coefficient_of_variation, step_distances
from gaia_stim.stimuli._common import check_count, decode, encode_sources, equal_steps, prepare_sources

__all__ = ["wheel", "from_parameters"]


def _check_radius(radius):
    if radius is None:
        return None
    try:
        radius = float(radius)
    except (TypeError, ValueError):
        raise InputError(f"--radius must be a number of latent units; got {radius!r}") from None
    if not math.isfinite(radius) or radius <= 0:
        raise InputError(f"--radius must be a finite number above 0 (latent units); got {radius}")
    return radius


def wheel(model, centre, image_a, image_b, n_images=12, radius=None, spacing="linear", metric="pixel"):
    """``n_images`` images on a circle around ``centre`` in the plane towards ``image_a`` and ``image_b``.

    Parameters
    ----------
    model : object
        A loaded model.
    centre, image_a, image_b : path or ndarray
    n_images : int, default=12
        Images around the wheel; 3 or more.
    radius : float, optional
        In latent units; default: half the mean distance of a's and b's codes from the centre's (the
        far side of a wider wheel extrapolates beyond the images the model was trained on).
    spacing : {"linear", "equal"}, default="linear"
        ``linear``: equal angles; ``equal``: angles moved so that neighbouring images are equally far
        apart in ``metric`` (the wheel's first image stays at angle 0).
    metric : {"pixel", "ssim", "nlpd", "feature"}, default="pixel"

    Returns
    -------
    dict
        ``images`` (n_images, S, S, C) float32, ``latents``, ``angles_deg``, ``step_distances``
        (each image to the one before it, the first to the last), ``radius``, and what
        :func:`gaia_stim.io.sets.write_set` writes.
    """
    n_images = check_count(n_images, "n_images", minimum=3)
    if spacing not in ("linear", "equal"):
        raise InputError(f"spacing must be 'linear' or 'equal'; got {spacing!r}")
    check_metric(metric, model, model.image_size)
    radius = _check_radius(radius)
    sources = prepare_sources(model, (centre, image_a, image_b), 3, "a wheel")
    codes = encode_sources(model, sources)
    to_a, to_b = codes[1] - codes[0], codes[2] - codes[0]
    e1 = to_a / max(np.linalg.norm(to_a), 1e-12)
    e2 = to_b - (to_b @ e1) * e1
    if np.linalg.norm(to_a) < 1e-9 or np.linalg.norm(e2) < 1e-9 * max(1.0, np.linalg.norm(to_b)):
        raise InputError("the wheel's images a and b must span a plane around the centre: give two images"
                         " that differ from the centre and from each other's direction")
    e2 /= np.linalg.norm(e2)
    if radius is None:
        radius = float((np.linalg.norm(to_a) + np.linalg.norm(to_b)) / 4)

    def render(angles):
        angles = np.asarray(angles)[:, None]
        return decode(model, codes[0] + radius * (np.cos(angles) * e1 + np.sin(angles) * e2))

    angles = 2 * np.pi * np.arange(n_images) / n_images
    if spacing == "equal":
        angles, latents, images, steps = equal_steps(angles, render, metric, model, closed=True, period=2 * np.pi)
    else:
        latents, images = render(angles)
        steps = step_distances(images, metric, model, closed=True)
    degrees = np.degrees(angles)
    column = f"distance_{metric}"
    width = max(2, len(str(n_images - 1)))
    # steps[i] is image i to image i + 1; each row records its distance to the image before it
    previous = np.roll(steps, 1)
    return {
        "kind": "wheel",
        "images": images,
        "latents": latents,
        "angles_deg": degrees,
        "step_distances": steps,
        "radius": radius,
        "rows": [{"index": i, "angle_deg": float(degrees[i]), column: float(previous[i])} for i in range(n_images)],
        "file_names": [f"wheel_{i:0{width}d}_angle_{degrees[i]:07.3f}.png" for i in range(n_images)],
        "labels": [f"{degrees[i]:.1f} deg" for i in range(n_images)],
        "caption": f"wheel around a, towards b (0 deg) and c; radius {radius:.3g}; {spacing} spacing",
        "parameters": {
            "sources": [source["source"] for source in sources],
            "n_images": n_images,
            "radius": radius,
            "spacing": spacing,
            "metric": metric,
            "angles_deg": [float(x) for x in degrees],
            "seed": None,
        },
        "summary": {
            "step_distance_metric": metric,
            "step_distance_mean": float(np.mean(steps)),
            "step_distance_cv": coefficient_of_variation(steps),
        },
        "sources": sources,
    }


def from_parameters(model, sources, parameters):
    """Rebuild a wheel from a manifest's parameters and the set's copies of its sources."""
    return wheel(model, *sources, n_images=parameters["n_images"], radius=parameters["radius"],
                 spacing=parameters["spacing"], metric=parameters["metric"])
