"""Stimulus wheels for continuous report: images on a circle in a latent plane around a centre image.

The plane is spanned by the directions from the centre's code to two other images' codes
(Gram-Schmidt orthonormalised): ``z(angle) = z_centre + radius (cos(angle) e1 + sin(angle) e2)``.
Angle 0 points towards image a, 90 degrees towards the part of image b orthogonal to it (as in the
scene wheels of Son, Walther & Mack 2021).
"""

import math

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.core.spacings import check_spacing
from gaia_stim.io.results import StimulusResult
from gaia_stim.metrics import check_metric, coefficient_of_variation, step_distances
from gaia_stim.stimuli._common import check_count, decode, encode_sources, equal_steps, prepare_sources

__all__ = ["wheel", "wheel_plane", "wheel_latents", "from_parameters"]


def _check_positive(value, name, unit):
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number ({unit}); got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number above 0 ({unit}); got {value}")
    return value


def wheel_plane(codes):
    """The wheel's plane around the centre's code, and its default radius.

    Parameters
    ----------
    codes : ndarray of shape (3, latent_dim)
        The codes of the centre, image a and image b.

    Returns
    -------
    e1, e2 : ndarray of shape (latent_dim,)
        Orthonormal directions (Gram-Schmidt): ``e1`` towards a (angle 0), ``e2`` towards the part
        of b orthogonal to it (90 degrees).
    default_radius : float
        Half the mean distance of a's and b's codes from the centre's (latent units).

    Raises
    ------
    InputError
        a and b do not span a plane around the centre (either is the centre, or they point the same way).
    """
    to_a, to_b = codes[1] - codes[0], codes[2] - codes[0]
    e1 = to_a / max(np.linalg.norm(to_a), 1e-12)
    e2 = to_b - (to_b @ e1) * e1
    if np.linalg.norm(to_a) < 1e-9 or np.linalg.norm(e2) < 1e-9 * max(1.0, np.linalg.norm(to_b)):
        raise InputError("the wheel's images a and b must span a plane around the centre: give two images"
                         " that differ from the centre and from each other's direction")
    e2 /= np.linalg.norm(e2)
    default_radius = float((np.linalg.norm(to_a) + np.linalg.norm(to_b)) / 4)
    return e1, e2, default_radius


def wheel_latents(centre, e1, e2, radius, angles):
    """Codes on the wheel: ``centre + radius (cos(angle) e1 + sin(angle) e2)`` at each angle (radians).

    ``centre`` is the centre's code and ``e1``, ``e2`` the plane from :func:`wheel_plane`; returns an
    ndarray of shape (len(angles), latent_dim).
    """
    angles = np.asarray(angles)[:, None]
    return centre + radius * (np.cos(angles) * e1 + np.sin(angles) * e2)


def _radius_for(step_distance, start, neighbour_distance, tolerance=0.01, max_doublings=12, max_rounds=30):
    """The radius whose wheel (equal angles) has mean neighbour distance ``step_distance``.

    Brackets the radius by doubling or halving from ``start``, then bisects in log radius.
    """
    low = high = start
    value = neighbour_distance(start)
    for _ in range(max_doublings):
        if value >= step_distance:
            break
        low, high = high, high * 2
        value = neighbour_distance(high)
    else:
        raise InputError(
            f"--step-distance {step_distance:g}: even a radius of {high:.3g} latent units gives neighbours only"
            f" {value:.3g} apart; ask for less"
        )
    if low == high:  # the start was already too far: halve down
        for _ in range(max_doublings):
            low = low / 2
            value = neighbour_distance(low)
            if value <= step_distance:
                break
        else:
            raise InputError(f"--step-distance {step_distance:g} is smaller than this wheel can make; ask for more")
    for _ in range(max_rounds):
        middle = math.sqrt(low * high)
        value = neighbour_distance(middle)
        if abs(value - step_distance) <= tolerance * step_distance:
            return middle
        low, high = (middle, high) if value < step_distance else (low, middle)
    return math.sqrt(low * high)


def wheel(model, centre, image_a, image_b, n_images=12, radius=None, spacing="linear", metric="pixel",
          step_distance=None):
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
    step_distance : float, optional
        Instead of ``radius``: the mean distance in ``metric`` between neighbouring images (at equal
        angles) that the radius is chosen for, within 1 %.

    Returns
    -------
    StimulusResult
        Of kind ``"wheel"``: ``images`` (n_images, S, S, C) float32, ``latents``, ``rows``
        (``index``, ``angle_deg``, ``distance_<metric>``) and what else
        :func:`gaia_stim.io.sets.write_set` writes. Its ``details``: ``angles_deg``,
        ``step_distances`` (each image to the next, the last to the first), ``radius``.
    """
    n_images = check_count(n_images, "n_images", minimum=3)
    check_spacing(spacing, "wheel")
    check_metric(metric, model, model.image_size)
    radius = _check_positive(radius, "--radius", "latent units")
    step_distance = _check_positive(step_distance, "--step-distance", f"a distance in {metric}")
    if radius is not None and step_distance is not None:
        raise InputError("give --radius or --step-distance, not both")
    sources = prepare_sources(model, (centre, image_a, image_b), 3, "a wheel")
    codes = encode_sources(model, sources)
    e1, e2, default_radius = wheel_plane(codes)
    radius = default_radius if radius is None else radius

    def render_at(radius, angles):
        return decode(model, wheel_latents(codes[0], e1, e2, radius, angles))

    angles = 2 * np.pi * np.arange(n_images) / n_images
    if step_distance is not None:
        radius = _radius_for(step_distance, default_radius, lambda r: float(np.mean(
            step_distances(render_at(r, angles)[1], metric, model, closed=True))))

    def render(angles):
        return render_at(radius, angles)

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
    return StimulusResult(
        kind="wheel",
        images=images,
        latents=latents,
        rows=[{"index": i, "angle_deg": float(degrees[i]), column: float(previous[i])} for i in range(n_images)],
        file_names=[f"wheel_{i:0{width}d}_angle_{degrees[i]:07.3f}.png" for i in range(n_images)],
        labels=[f"{degrees[i]:.1f} deg" for i in range(n_images)],
        caption=f"wheel around a, towards b (0 deg) and c; radius {radius:.3g}; {spacing} spacing",
        parameters={
            "sources": [source["source"] for source in sources],
            "n_images": n_images,
            "radius": radius,
            "step_distance": step_distance,
            "spacing": spacing,
            "metric": metric,
            "angles_deg": [float(x) for x in degrees],
            "seed": None,
        },
        summary={
            "step_distance_metric": metric,
            "step_distance_mean": float(np.mean(steps)),
            "step_distance_cv": coefficient_of_variation(steps),
        },
        sources=sources,
        details={"angles_deg": degrees, "step_distances": steps, "radius": radius},
    )


def from_parameters(model, sources, parameters):
    """Rebuild a wheel from a manifest's parameters and the set's copies of its sources."""
    # the radius found for a --step-distance is stored, so it is not searched for again
    return wheel(model, *sources, n_images=parameters["n_images"], radius=parameters["radius"],
                 spacing=parameters["spacing"], metric=parameters["metric"])
