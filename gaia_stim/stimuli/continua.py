"""Morph continua: images along a path through the model's latent space.

The source images are encoded and the path runs straight from code to code (A -> B, or
A -> B -> C ...); every step is decoded, so each step is a model image rather than a cross-fade.
Morph level 0 is the first image, 1 the second, 2 the third...; levels below 0 or beyond the last
image extrapolate along the first or last segment (caricatures and anti-caricatures).

The steps are placed at equal steps of the morph level, at equal image distances in a metric, at
levels given one by one, or at equal steps of a perceptual scale measured on the same continuum
(``gaia-stim scale``, :func:`gaia_stim.analysis.mlds_report.read_scale`): the scale's values at its
levels are interpolated by a monotone cubic (PCHIP), which is inverted at equally spaced values.
"""

import math
import numbers
import os
import warnings

import numpy as np

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.spacings import PERCEPTUAL, check_spacing
from gaia_stim.io.results import StimulusResult
from gaia_stim.metrics import check_metric, coefficient_of_variation, step_distances
from gaia_stim.stimuli._common import check_count, check_range, decode, encode_sources, equal_steps, prepare_sources

__all__ = ["ScaleWarning", "continuum", "latent_path", "from_parameters", "monotone_scale", "perceptual_levels"]

# The spacings (gaia_stim.core.spacings): "linear", equal steps of the morph level along the latent
# path; "equal", steps of equal distance between consecutive images in the chosen metric;
# "perceptual", equal steps of a measured perceptual scale (needs the scale: ``scale=``).
# Levels given one by one (``levels=``), as the manifest records them.
EXPLICIT = "explicit"
# How the scale is interpolated between its levels, as the manifest records it: scipy's
# PchipInterpolator (a monotone cubic: it never overshoots, so a rising scale stays rising).
INTERPOLATION = "pchip"


class _DefaultSteps(int):
    """The default number of steps, told apart from the same number given (``levels`` refuses a given one)."""


DEFAULT_STEPS = _DefaultSteps(11)


class ScaleWarning(UserWarning):
    """A scale that needed mending before use (it fell somewhere, so its monotone version was used)."""


def latent_path(codes, levels):
    """The continuum's latent codes at morph ``levels`` on the polyline through ``codes``.

    Level 0 is ``codes[0]``, 1 ``codes[1]`` and so on; between two whole levels the code is the
    straight mix of their codes, and levels below 0 or beyond the last extrapolate along the first
    or last segment. :class:`gaia_stim.stimuli.live.LiveMorph` and the explorer decode on this same
    path, so a level gives the code the continuum gives it.

    Parameters
    ----------
    codes : ndarray of shape (n_sources, latent_dim)
        The sources' codes, in order (2 or more).
    levels : ndarray of shape (n,)
        Morph levels.

    Returns
    -------
    ndarray of shape (n, latent_dim)
        float64 for float64 codes; exact at whole levels.
    """
    segment = np.clip(np.floor(levels), 0, len(codes) - 2).astype(int)
    fraction = (levels - segment)[:, None]
    return (1.0 - fraction) * codes[segment] + fraction * codes[segment + 1]


def _decimals(levels):
    """Decimals that tell every level apart in file names and labels (3 at least)."""
    for decimals in range(3, 13):
        if len({f"{level:.{decimals}f}" for level in levels}) == len(levels):
            return decimals
    return 12


def continuum(model, image_a, image_b, *more_images, n_steps=DEFAULT_STEPS, spacing="linear", metric="pixel",
              level_range=None, levels=None, include_sources=False, scale=None, scale_participant=None,
              allow_unmatched_scale=False):
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
        Number of images, both ends included; 2 or more. Not with ``levels``.
    spacing : {"linear", "equal", "perceptual"}, default="linear"
        ``linear``: morph levels ``LOW + (HIGH - LOW) i / (n_steps - 1)``. ``equal``: levels moved
        so that consecutive images are equally far apart in ``metric``. ``perceptual``: levels at
        equal steps of the perceptual scale ``scale`` (interpolated by PCHIP, never extrapolated).
    metric : {"pixel", "ssim", "nlpd", "feature"}, default="pixel"
        The distance recorded for every step (and equalised by ``spacing="equal"``).
    level_range : (float, float), optional
        LOW and HIGH morph levels; default (0, number of images - 1), or with ``spacing="perceptual"``
        the scale's measured levels (a range must lie inside them). Beyond the sources the path is
        extrapolated, e.g. (-0.5, 1.5) for anti-caricatures and caricatures.
    levels : sequence of float, optional
        The morph levels themselves, increasing, each once (at least two), within the bounds a
        ``level_range`` has. Not with ``n_steps``, ``level_range`` or another spacing.
    include_sources : bool, default=False
        Add the sources' own levels (0, 1, ... number of images - 1) to the linear levels (or to
        ``levels``), so that a caricature continuum such as (-0.5, 1.5) in 11 steps holds the
        sources too; levels within 1e-9 of a source's are that source's level. Linear spacing only.
    scale : str or path-like, optional
        With ``spacing="perceptual"``: a scale folder from ``gaia-stim scale`` or its ``scale.csv``
        (:func:`gaia_stim.analysis.mlds_report.read_scale`). It must have been measured with this model
        on these sources (``scale.json`` records both when the scale was fitted with ``--stimuli``).
    scale_participant : str, optional
        Whose scale: a participant's ID; by default the group mean (or the only participant).
    allow_unmatched_scale : bool, default=False
        Use a scale that does not record this model and these sources (a warning; recorded).

    Returns
    -------
    StimulusResult
        Of kind ``"continuum"`` (what :func:`gaia_stim.io.sets.write_set` writes):
        ``images`` : ndarray of shape (n_images, S, S, C), float32 in [0, 1];
        ``latents`` : ndarray of shape (n_images, latent_dim), float32; ``rows`` (``step``,
        ``morph_level``, ``scale_value`` with perceptual spacing, ``distance_<metric>``),
        ``file_names``, ``labels``, ``caption``, ``parameters``, ``summary``, ``sources``. Its
        ``details`` (also read as ``result["morph_levels"]``): ``morph_levels`` : ndarray of shape
        (n_images,), float64; ``step_distances`` : ndarray of shape (n_images - 1,), in ``metric``;
        ``scale_values`` (perceptual spacing: the interpolated scale at every level); ``endpoints``
        (the prepared first and last images), ``source_a``, ``source_b``, ``input_sha256``,
        ``input_changes``, ``n_steps``, ``spacing``, ``metric``.

    Raises
    ------
    InputError
        ``n_steps`` is not an integer >= 2, ``spacing``, ``metric``, ``level_range`` or ``levels``
        is bad, options that exclude each other are combined, an array is not an image, or the
        scale was measured on another model or other sources, or does not cover the range.
    DataError
        An image file is missing or unreadable, or the scale file is.

    Examples
    --------
    >>> import gaia_stim as gs
    >>> model = gs.load_model("default")  # doctest: +SKIP
    >>> result = continuum(model, "a.png", "b.png", n_steps=11, spacing="equal", metric="ssim")  # doctest: +SKIP
    >>> result.images.shape  # doctest: +SKIP
    (11, 64, 64, 3)
    >>> continuum(model, "a.png", "b.png", level_range=(-0.5, 1.5), include_sources=True)  # doctest: +SKIP
    >>> continuum(model, "a.png", "b.png", spacing="perceptual", scale="pilot_scale")  # doctest: +SKIP
    """
    return _continuum(model, (image_a, image_b, *more_images), n_steps, spacing, metric, level_range, levels,
                      include_sources, scale, scale_participant, allow_unmatched_scale, scale)


def _check_options(n_steps, spacing, level_range, levels, include_sources, scale, scale_participant,
                   allow_unmatched_scale):
    """The number of steps (None with ``levels``), or InputError for a bad spacing or a bad combination."""
    if not (levels is not None and spacing == EXPLICIT):
        check_spacing(spacing, "continuum")
    if not isinstance(include_sources, (bool, np.bool_)):
        raise InputError(f"include_sources must be True or False; got {include_sources!r}")
    if levels is not None:
        for given, name in ((None if n_steps is DEFAULT_STEPS else n_steps, "n_steps (--steps)"),
                            (level_range, "level_range (--range)")):
            if given is not None:
                raise InputError(f"levels (--levels) give every level; leave out {name}")
        if spacing not in ("linear", EXPLICIT):
            raise InputError(f"levels (--levels) are used as given; spacing {spacing!r} would move them: leave one out")
    if include_sources and spacing in ("equal", PERCEPTUAL):
        raise InputError(f"include_sources (--include-sources) adds levels to linear steps; added to {spacing} steps"
                         " they would make those steps unequal: leave one out")
    if spacing == PERCEPTUAL and scale is None:
        raise InputError("spacing 'perceptual' needs the scale to space the steps on: give scale (--scale) a folder"
                         " written by gaia-stim scale, or its scale.csv")
    if spacing != PERCEPTUAL:
        for given, name in ((scale, "scale (--scale)"), (scale_participant, "scale_participant (--scale-participant)"),
                            (allow_unmatched_scale or None, "allow_unmatched_scale (--allow-unmatched-scale)")):
            if given is not None:
                raise InputError(f"{name} is used only with spacing 'perceptual' (--spacing perceptual); add it or"
                                 " leave the option out")
    if levels is not None:
        return None
    return check_count(n_steps, "n_steps", example=" (e.g. n_steps=11 for morph levels 0, 0.1, ..., 1)")


def _check_levels(levels, n_sources):
    """Explicit levels: finite numbers, increasing, each once, at least two, within check_range's bounds."""
    try:
        if isinstance(levels, (str, bytes)) or any(isinstance(level, (bool, np.bool_))
                                                   or not isinstance(level, numbers.Real) for level in levels):
            raise TypeError
        values = [float(level) for level in levels]
    except TypeError:
        raise InputError(f"--levels must be a list of numbers such as [0, 0.25, 0.5, 1]; got {levels!r}") from None
    bad = [value for value in values if not math.isfinite(value)]
    if bad:
        raise InputError(f"--levels must be finite numbers; got {bad[0]!r}")
    if len(values) < 2:
        raise InputError(f"--levels needs at least two levels (a continuum has two ends); got {len(values)}")
    for first, second in zip(values, values[1:]):
        if not second > first:
            raise InputError(f"--levels must increase, each level once: {second:g} follows {first:g}; sort them and"
                             " drop repeats")
    check_range((values[0], values[-1]), name="--levels", n_sources=n_sources)
    return np.array(values, dtype=np.float64)


def _with_sources(levels, n_sources):
    """``levels`` and the sources' own levels 0 .. n_sources - 1, sorted; a level within 1e-9 of a source's is it."""
    whole = np.arange(n_sources, dtype=np.float64)
    others = [level for level in levels if not np.any(np.abs(whole - level) <= 1e-9)]
    return np.sort(np.concatenate([np.asarray(others, dtype=np.float64), whole]))


def monotone_scale(values):
    """``values`` if they never fall, else their isotonic (least-squares non-decreasing) version.

    Pool adjacent violators, every value weighted equally: where the scale falls, the values
    involved are replaced by their mean.

    Returns
    -------
    values : ndarray of shape (n,)
    mended : bool
        True when the values fell somewhere and were replaced.
    """
    values = np.asarray(values, dtype=np.float64)
    if np.all(np.diff(values) >= 0):
        return values, False
    blocks = []  # [sum, count] of pooled runs
    for value in values:
        blocks.append([float(value), 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    return np.concatenate([np.full(count, total / count) for total, count in blocks]), True


def perceptual_levels(scale_levels, scale_values, low, high, n_steps):
    """Levels from ``low`` to ``high`` at equal steps of the scale, and the scale's value at each.

    The scale is the monotone cubic (PCHIP) through ``(scale_levels, scale_values)``; the levels
    are the first at which it reaches ``psi(low) + (psi(high) - psi(low)) i / (n_steps - 1)``
    (bisection to the last bit; ``low`` and ``high`` are kept exactly).

    Parameters
    ----------
    scale_levels : ndarray of shape (n,), increasing
    scale_values : ndarray of shape (n,), non-decreasing
    low, high : float
        Inside ``[scale_levels[0], scale_levels[-1]]``.
    n_steps : int

    Returns
    -------
    levels, values : ndarrays of shape (n_steps,)
    """
    from scipy.interpolate import PchipInterpolator

    curve = PchipInterpolator(np.asarray(scale_levels, dtype=np.float64), np.asarray(scale_values, dtype=np.float64),
                              extrapolate=False)
    start, end = float(curve(low)), float(curve(high))
    if not end > start:
        raise InputError(f"the scale does not rise between morph levels {low:g} and {high:g} (it is {start:.4g} at"
                         f" both ends), so no steps are equal on it: choose a range over which it rises")
    targets = start + (end - start) * (np.arange(n_steps, dtype=np.float64) / (n_steps - 1))
    lower, upper = np.full(n_steps, float(low)), np.full(n_steps, float(high))
    for _ in range(2100):  # each halving gains a bit; 2100 covers any float64 interval
        middle = 0.5 * (lower + upper)
        if np.all((middle <= lower) | (middle >= upper)):
            break
        reached = curve(middle) >= targets
        upper, lower = np.where(reached, middle, upper), np.where(reached, lower, middle)
    levels = upper
    levels[0], levels[-1] = low, high
    if np.any(np.diff(levels) <= 0):
        raise InputError(f"{n_steps} steps are too many to tell apart on this scale between {low:g} and {high:g};"
                         " use fewer steps")
    return levels, curve(levels)


def _scale_mismatch(found, model, sources):
    """Why the scale ``found`` does not describe this model and these sources ([] when it does)."""
    from gaia_stim.analysis.mlds_report import RECORD_FILE, SCALE_FILE

    if found["record"] is None:
        return [f"it has no {RECORD_FILE} beside its {SCALE_FILE}, so it records no model or sources: keep the folder"
                " gaia-stim scale wrote"]
    if not found["record_agrees"]:
        return [f"its {SCALE_FILE} and {RECORD_FILE} disagree on {found['participant']!r}'s scale (one was edited)"]
    measured = found["stimulus_set"]
    if not isinstance(measured, dict):
        return ["it was fitted without --stimuli, so it records no model or sources: fit it again with"
                " gaia-stim scale --stimuli SET"]
    problems = []
    wanted, mine = measured.get("model_sha256"), getattr(model, "file_sha256", None)
    if wanted != mine:
        problems.append(f"it was measured with another model (sha256 {str(wanted)[:12]}..., this one"
                        f" {str(mine)[:12]}...)")
    wanted = [record.get("sha256") for record in measured.get("source_sha256") or [] if isinstance(record, dict)]
    mine = [source["sha256"] for source in sources]
    if wanted != mine:
        shown = ", ".join(f"{value[:12]}..." for value in wanted if isinstance(value, str)) or "none"
        problems.append(f"it was measured on a continuum between other images (sources' sha256 {shown}; these"
                        f" {', '.join(value[:12] + '...' for value in mine)})")
    return problems


def _continuum(model, images, n_steps, spacing, metric, level_range, levels, include_sources, scale,
               scale_participant, allow_unmatched_scale, scale_file):
    """:func:`continuum`; ``scale`` is read, ``scale_file`` recorded (the path first given)."""
    n_steps = _check_options(n_steps, spacing, level_range, levels, include_sources, scale, scale_participant,
                             allow_unmatched_scale)
    check_metric(metric, model, model.image_size)
    sources = prepare_sources(model, images, 2, "a continuum")
    found = extra = scale_values = None
    if levels is not None:
        given = _check_levels(levels, len(sources))
        spacing, n_steps, low, high = EXPLICIT, len(given), float(given[0]), float(given[-1])
        extra = {"levels": [float(level) for level in given]}
    elif spacing == PERCEPTUAL:
        from gaia_stim.analysis.mlds_report import read_scale

        found = read_scale(scale, scale_participant)
        problems = _scale_mismatch(found, model, sources)
        if problems and not allow_unmatched_scale:
            raise InputError(f"--scale {os.fspath(scale_file)!r} does not fit this continuum: {problems[0]}; give the"
                             " scale measured with this model on these sources, or pass --allow-unmatched-scale to"
                             " use it anyway")
        if problems:
            warnings.warn(f"--scale {os.fspath(scale_file)!r} is used although {problems[0]}"
                          " (--allow-unmatched-scale)", ScaleWarning, stacklevel=3)
        measured = (float(found["levels"][0]), float(found["levels"][-1]))
        low, high = check_range(measured if level_range is None else level_range, n_sources=len(sources))
        if low < measured[0] or high > measured[1]:
            raise InputError(f"--range {low:g} {high:g} reaches outside the levels the scale was measured at,"
                             f" {measured[0]:g} to {measured[1]:g}, and a scale is not extrapolated: keep --range"
                             f" within {measured[0]:g} {measured[1]:g}, or measure the scale on a wider continuum")
        used, mended = monotone_scale(found["scale"])
        if mended:
            fall = np.flatnonzero(np.diff(found["scale"]) < 0)[0]
            warnings.warn(
                f"the {found['participant']} scale in {found['table']!r} falls from morph level"
                f" {found['levels'][fall]:g} to {found['levels'][fall + 1]:g} (by"
                f" {found['scale'][fall] - found['scale'][fall + 1]:.3g}); the continuum uses its monotone (isotonic)"
                " version, which averages the values where it falls", ScaleWarning, stacklevel=3)
        extra = {
            "scale_file": os.fspath(scale_file),
            "scale_sha256": found["table_sha256"],
            "scale_record_sha256": found["record_sha256"],
            "scale_design": found["design"],
            "scale_participant": found["participant"],
            "scale_fit": found["fit"],
            "scale_levels": [float(value) for value in found["levels"]],
            "scale_values": [float(value) for value in found["scale"]],
            "scale_monotone": "isotonic" if mended else "as fitted",
            "interpolation": INTERPOLATION,
            "allow_unmatched_scale": bool(allow_unmatched_scale),
            **({"scale_unmatched": problems} if allow_unmatched_scale else {}),
        }
    else:
        low, high = check_range((0, len(sources) - 1) if level_range is None else level_range,
                                n_sources=len(sources))
    codes = encode_sources(model, sources)

    def render(levels):
        return decode(model, latent_path(codes, levels))

    if spacing == EXPLICIT:
        levels = given
    elif spacing == PERCEPTUAL:
        levels, scale_values = perceptual_levels(found["levels"], used, low, high, n_steps)
    else:
        # (i / (n - 1)) * 1.0 is the correctly rounded level (linspace gives 0.30000000000000004 for 0.3).
        levels = low + (high - low) * (np.arange(n_steps, dtype=np.float64) / (n_steps - 1))
    if include_sources:
        levels = _with_sources(levels, len(sources))
        extra = {**(extra or {}), "include_sources": True}
    if spacing == "equal" and n_steps > 2:
        levels, latents, images, steps = equal_steps(levels, render, metric, model)
    else:
        latents, images = render(levels)
        steps = step_distances(images, metric, model)
    result = _result(model, sources, levels, latents, images, steps, n_steps, spacing, metric, (low, high), extra,
                     scale_values, found)
    return result


def _result(model, sources, levels, latents, images, steps, n_steps, spacing, metric, level_range, extra=None,
            scale_values=None, scale=None):
    decimals = _decimals(levels)
    step_width = max(2, len(str(len(levels) - 1)))
    column = f"distance_{metric}"
    rows = [
        {"step": step, "morph_level": float(level),
         **({"scale_value": float(scale_values[step])} if scale_values is not None else {}),
         column: float(steps[step - 1]) if step else 0.0}
        for step, level in enumerate(levels)
    ]
    how = {EXPLICIT: "levels as given",
           PERCEPTUAL: f"perceptual spacing ({scale['participant']} scale, {scale['design']})" if scale else ""}
    note = ", sources included" if extra and extra.get("include_sources") else ""
    return StimulusResult(
        kind="continuum",
        images=images,
        latents=latents,
        rows=rows,
        file_names=[f"step_{step:0{step_width}d}_morph_{level:.{decimals}f}.png" for step, level in enumerate(levels)],
        labels=[f"{level:.{decimals}f}" for level in levels],
        caption="morph level: " + ", ".join(f"{role} = {k}" for k, role in enumerate(source["role"] for source in sources))
        + f"; {how.get(spacing, f'{spacing} spacing')}{note}",
        parameters={
            "sources": [source["source"] for source in sources],
            "source_a": sources[0]["source"],
            "source_b": sources[1]["source"],
            "n_steps": n_steps,
            "spacing": spacing,
            "method": spacing,
            "metric": metric,
            "level_range": list(level_range),
            **(extra or {}),
            "morph_levels": [float(level) for level in levels],
            "seed": None,  # a continuum involves no randomness
        },
        summary={
            "step_distance_metric": metric,
            "step_distance_mean": float(np.mean(steps)),
            "step_distance_cv": coefficient_of_variation(steps),
        },
        sources=sources,
        input_files=(scale["table"],) + ((scale["record"],) if scale["record"] else ()) if scale else (),
        details={
            "morph_levels": levels,
            "step_distances": steps,
            **({"scale_values": scale_values} if scale_values is not None else {}),
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


def _set_folder(sources):
    """The set whose copy of the first source is ``sources[0]`` (``SET/sources/given/NAME``), or None."""
    if not isinstance(sources[0], (str, os.PathLike)):
        return None
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(os.fspath(sources[0])))))


def _recorded_scale(sources, parameters):
    """The scale the parameters record, found as given or beside the set, unchanged since (both sha256)."""
    from gaia_stim.analysis.mlds_report import RECORD_FILE, SCALE_FILE

    recorded, wanted, wanted_record = (parameters["scale_file"], parameters["scale_sha256"],
                                       parameters["scale_record_sha256"])
    candidates = [recorded]
    folder = _set_folder(sources)
    if not os.path.isabs(recorded) and folder is not None:  # as given on the command line: relative to where it ran
        candidates.append(os.path.join(os.path.dirname(folder), recorded))
    found = []
    for path in candidates:
        table = os.path.join(path, SCALE_FILE) if os.path.isdir(path) else path
        if os.path.isfile(table):
            found.append(path)
            record = os.path.join(os.path.dirname(table), RECORD_FILE)
            record_sha256 = file_sha256(record) if os.path.isfile(record) else None
            if file_sha256(table) == wanted and record_sha256 == wanted_record:
                return path
    if found:
        raise DataError(
            f"scale {found[0]!r} has changed since the continuum was made (its {SCALE_FILE} or {RECORD_FILE} is not"
            f" the recorded sha256 {wanted[:12]}... / {str(wanted_record)[:12]}...): restore the scale folder the"
            " continuum was made with, or verify without --regenerate"
        )
    raise DataError(
        f"the scale this continuum was made with, {recorded!r}, is missing (looked at"
        f" {', '.join(map(repr, dict.fromkeys(candidates)))}): put it back, or verify without --regenerate"
    )


def from_parameters(model, sources, parameters):
    """Rebuild a continuum from a manifest's parameters and the set's copies of its sources.

    A perceptual continuum reads its scale from the path recorded (as given, else relative to the
    folder that holds the set) and refuses one whose sha256 is not the recorded one.

    Raises
    ------
    DataError
        The scale of a perceptual continuum is missing or changed since.
    """
    spacing = parameters["spacing"]
    include = {"include_sources": True} if parameters.get("include_sources") else {}
    if spacing == EXPLICIT:
        return continuum(model, *sources, levels=parameters["levels"], metric=parameters["metric"], **include)
    if spacing == PERCEPTUAL:
        return _continuum(model, sources, parameters["n_steps"], spacing, parameters["metric"],
                          parameters["level_range"], None, False, _recorded_scale(sources, parameters),
                          parameters["scale_participant"], parameters["allow_unmatched_scale"],
                          parameters["scale_file"])
    return continuum(model, *sources, n_steps=parameters["n_steps"], spacing=spacing,
                     metric=parameters["metric"], level_range=parameters["level_range"], **include)
