"""What every kind of stimulus shares: preparing sources, checking counts, equal-distance steps."""

import math
import numbers
import os

import numpy as np
from PIL import Image

from gaia_stim.core.errors import InputError
from gaia_stim.core.images import load_image, prepare_image
from gaia_stim.core.progress import progress_bar
from gaia_stim.io.images import array_sha256
from gaia_stim.metrics import coefficient_of_variation, step_distances
from gaia_stim.core.atomic import file_sha256

__all__ = [
    "ROLES", "FAR_SOURCE_SSIM", "prepare_sources", "encode_sources", "check_count", "check_range", "equal_steps",
    "decode",
]

ROLES = "abcdefghijklmnopqrstuvwxyz"
# Sources one stimulus may be made from (a mean of many faces); each is copied into the set and named
# by two table columns, so the bound keeps sets and tables of a sensible size.
MAX_SOURCES = 26 + 26 * 26  # a to zz


def role_names(n):
    """The roles of ``n`` sources: a, b, ..., z, then aa, ab, ..., zz (as spreadsheet columns)."""
    names = list(ROLES[:n])
    for first in ROLES:
        if len(names) >= n:
            break
        names += [first + second for second in ROLES][: n - len(names)]
    return names

# A source whose reconstruction has an SSIM below this against the prepared source is far outside what
# the model reconstructs well: the steps it anchors will not look like it. (The default model's 200
# held-out faces reconstruct at 0.950 at the lowest, 0.986 on average; the default model shipped before 2026-12-02
# reconstructed them at about 0.9, and photographs, far from its synthetic faces, at about 0.3 to 0.6.)
FAR_SOURCE_SSIM = 0.75


def _prepare(source, model, role):
    """One source -> its record: role, source, given, prepared pixels, sha256, changes."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        prepared = load_image(path, model.image_size, model.channels)
        given, name, sha256 = path, path, file_sha256(path)
    else:
        if isinstance(source, Image.Image):  # a palette image's array would be its indices
            array = np.asarray(source)
            prepared = prepare_image(source, model.image_size, model.channels)
        else:
            try:
                array = np.asarray(source)
            except (TypeError, ValueError) as error:
                raise InputError(f"image_{role} must be a path or an image array; got {type(source).__name__}") from error
            if array.dtype == object:
                raise InputError(f"image_{role} must be a path or an image array; got {type(source).__name__}")
            prepared = prepare_image(array, model.image_size, model.channels)
        given, name, sha256 = array, "array", array_sha256(array)
    return {"role": role, "source": name, "given": given, "prepared": prepared.pixels.astype(np.float32),
            "sha256": sha256, "changes": list(prepared.changes)}


def prepare_sources(model, images, minimum, what):
    """Prepare ``images`` (paths or arrays) for ``model``; at least ``minimum`` of them."""
    images = list(images)
    if len(images) < minimum:
        raise InputError(f"{what} needs at least {minimum} images; got {len(images)}")
    if len(images) > MAX_SOURCES:
        raise InputError(f"{what} takes at most {MAX_SOURCES} images; got {len(images)}: average a sample of them")
    return [_prepare(image, model, role) for image, role in zip(images, role_names(len(images)))]


def encode_sources(model, sources):
    """The sources' latent codes, float64 (K, latent_dim); also how faithfully the model reconstructs each.

    Every source record gains ``reconstruction`` (the decoded code, float32 pixels) and
    ``reconstruction_ssim`` (its SSIM against the prepared source, scikit-image, data range 1): how
    far what the model draws at the source's code is from the source itself.
    """
    pixels = np.stack([source["prepared"] for source in sources])
    codes = np.asarray(model.encode(pixels), dtype=np.float32)
    if codes.ndim != 2 or codes.shape[0] != len(sources):
        raise ValueError(f"model.encode returned shape {codes.shape} for {len(sources)} images")
    _, reconstructions = decode(model, codes)
    for source, reconstruction, ssim in zip(sources, reconstructions, reconstruction_ssim(reconstructions, pixels)):
        source["reconstruction"] = reconstruction
        source["reconstruction_ssim"] = ssim
    return codes.astype(np.float64)


def reconstruction_ssim(reconstructions, prepared):
    """SSIM of each reconstruction against its prepared source (float list; grey or colour).

    7 x 7 windows (scikit-image's default); images smaller than that (stand-in models in tests)
    use the largest odd window that fits, and images under 3 pixels get None.
    """
    from skimage.metrics import structural_similarity

    side = min(np.asarray(prepared).shape[1:3])
    if side < 3:
        return [None] * len(prepared)
    window = min(7, side if side % 2 else side - 1)
    return [
        float(structural_similarity(np.asarray(x, np.float64), np.asarray(y, np.float64), data_range=1.0,
                                    channel_axis=-1, win_size=window))
        for x, y in zip(reconstructions, prepared)
    ]


def decode(model, latents):
    """Decode float64 latents (as float32) and check the shape the model returns."""
    latents = np.asarray(latents, dtype=np.float32)
    images = np.asarray(model.decode(latents), dtype=np.float32)
    expected = (len(latents), model.image_size, model.image_size, model.channels)
    if images.shape != expected:
        raise ValueError(f"model.decode returned shape {images.shape}; expected {expected}")
    return latents, images


def check_count(value, name, minimum=2, example=""):
    """A whole number >= ``minimum``, or InputError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be a whole number, {minimum} or more; got {value!r}{example}")
    return int(value)


# Morph levels are in units of the distance between the sources (0 and 1 are the sources). Levels
# beyond MAX_LEVEL are refused: that far out the codes lie nowhere near anything a model was trained on
# (and their arithmetic loses precision); levels beyond WARN_LEVELS extrapolate more than one source
# distance past a source, where images leave the training faces (docs/model_card.md measures level 1.5).
MAX_LEVEL = 100.0
WARN_LEVELS = (-1.0, 2.0)


class ExtrapolationWarning(UserWarning):
    """Morph levels far past the sources: the images leave what the model was trained on."""


def check_range(level_range, name="--range", n_sources=2):
    """Two finite numbers, low < high, within +-MAX_LEVEL; a warning past WARN_LEVELS.

    ``n_sources`` sources span levels 0 to n_sources - 1, so the warning bounds move with them.
    """
    import warnings

    try:
        low, high = (float(value) for value in level_range)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two numbers LOW HIGH, e.g. -0.5 1.5; got {level_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise InputError(f"{name} must be two finite numbers with LOW < HIGH, e.g. -0.5 1.5; got {low} {high}")
    last = n_sources - 1
    if low < -MAX_LEVEL or high > last + MAX_LEVEL:
        raise InputError(
            f"{name} {low:g} {high:g} reaches {MAX_LEVEL:g} source distances past the sources; the model draws"
            f" nothing meaningful that far out: keep it within {-MAX_LEVEL:g} {last + MAX_LEVEL:g} (caricatures"
            " usually stay within -1 2)"
        )
    if low < WARN_LEVELS[0] or high > last + WARN_LEVELS[1] - 1:
        warnings.warn(
            f"{name} {low:g} {high:g} extrapolates more than one source distance past the sources (beyond"
            f" {WARN_LEVELS[0]:g} {last + WARN_LEVELS[1] - 1:g}): the images there leave the faces the model was"
            " trained on; look at them before using them",
            ExtrapolationWarning, stacklevel=3,
        )
    return low, high


def equal_steps(levels, render, metric, model=None, closed=False, period=None, tolerance=0.005, rounds=8):
    """Move ``levels`` so that consecutive rendered images are equally far apart in ``metric``.

    The path is sampled at twice the number of levels, its arc length is integrated from
    the distances between neighbouring samples, and inverted (piecewise linear) for equal
    steps; then each step's width is refined on its own distance, ``width * (mean / distance) **
    (1 / exponent)``, the exponent measured from the previous round, until the coefficient of variation is below ``tolerance`` or ``rounds`` are done. The first
    level (and on an open path the last) stays where it is.

    Parameters
    ----------
    levels : ndarray of shape (n,), increasing
        Initial levels; an open path runs from ``levels[0]`` to ``levels[-1]``.
    render : callable
        ``render(levels) -> (latents, images)``.
    closed : bool, default=False
        A loop: the last image's neighbour is the first, ``period`` later.

    Returns
    -------
    levels, latents, images, step distances (n - 1 values, or n on a loop)
    """
    levels = np.asarray(levels, dtype=np.float64)
    n = len(levels)
    end = levels[0] + period if closed else levels[-1]

    def invert(knots, distances):
        arc = np.concatenate([[0.0], np.cumsum(distances)])
        if not arc[-1] > 0:  # all images alike: any spacing is equal; keep the given one
            return levels
        targets = np.linspace(0.0, arc[-1], n + 1 if closed else n)
        new = np.interp(targets, arc, knots)
        new[0] = levels[0]
        if closed:
            return new[:-1]
        new[-1] = end
        return new

    def widths(current):
        knots = np.append(current, end) if closed else current
        return np.diff(knots)

    def from_widths(new_widths):
        knots = levels[0] + np.concatenate([[0.0], np.cumsum(new_widths / new_widths.sum() * (end - levels[0]))])
        if closed:
            return knots[:-1]
        knots[-1] = end
        return knots

    bar = progress_bar(total=rounds + 2, description="equal spacing", unit="round")  # the dense pass, then rounds
    dense = np.linspace(levels[0], end, 2 * (n if closed else n - 1) + 1)
    _, dense_images = render(dense)
    current = invert(dense, step_distances(dense_images, metric, model))
    bar.update(1)
    best, previous, exponent = None, None, 1.0
    for _ in range(rounds + 1):
        bar.update(1)
        latents, images = render(current)
        steps = step_distances(images, metric, model, closed=closed)
        cv = coefficient_of_variation(steps)
        if best is None or cv < best[0]:
            best = (cv, current, latents, images, steps)
        if cv <= tolerance or not np.all(steps > 0):
            break
        # A step's distance grows about as (its width) ** exponent; the exponent is measured from
        # how the distances answered the last change of widths (1 for a metric that is locally
        # linear, such as pixel RMS; lower for saturating ones such as 1 - SSIM).
        if previous is not None:
            width_ratio = np.log(widths(current) / previous[0])
            distance_ratio = np.log(steps / previous[1])
            usable = np.abs(width_ratio) > 1e-3
            if usable.any():
                exponent = float(np.clip(np.median(distance_ratio[usable] / width_ratio[usable]), 0.2, 2.0))
        previous = (widths(current), steps)
        current = from_widths(widths(current) * (steps.mean() / steps) ** (1.0 / exponent))
    bar.close()
    return best[1], best[2], best[3], best[4]
