"""Quality of models on held-out synthetic faces: reconstruction and morph fidelity.

The synthetic face family (``gaia_stim.datasets``) renders any parameter vector, so the
true morph between two faces is known: at morph level ``t`` it is ``render((1 - t) p_a + t p_b)``.
This script measures, for each model given with ``--model``:

* reconstruction of ``--n-recon`` held-out faces: mean SSIM and mean absolute pixel error;
* morph fidelity on ``--n-pairs`` held-out pairs at ``--steps`` morph levels: the mean absolute
  pixel error of the model's morph ``decode((1 - t) encode(a) + t encode(b))`` against the true
  morph, beside the same error of a pixel cross-fade ``(1 - t) a + t b``;
* the error of the model's morph against the model's own rendering of the true morph,
  ``decode(encode(true morph))``, which takes the model's reconstruction error out of the
  comparison and leaves how well its latent interpolation follows the face space.

Held-out faces are drawn with ``--seed`` (default 12345); the default model was trained on
``make_faces(..., seed=0)``. Every model renders at its own image size. Pixels are in [0, 1].

    python benchmarks/face_quality.py --model default --model runs/ae_small=AE \\
        --json face_quality.json --figure face_quality.png

The first model is the reference of the ratios ("first/other"); give the GAIA model first.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from gaia_stim.datasets import PARAMETERS, make_faces, render, sample_parameters

DEFAULT_SEED = 12345  # the default model was trained on make_faces(..., seed=0)
TRAINING_SEED = 0
MIDDLE_LOW, MIDDLE_HIGH = 0.3, 0.7  # "middle steps": morph levels in this range, both ends included
CROSSFADE = "crossfade"
FIGURE_PAIRS = 3
PAIRS_PER_CHUNK = 16  # pairs handled at once: bounds memory at n_steps images per pair and method


# --------------------------------------------------------------------------------------------
# Inputs


def parse_model_spec(text):
    """``"PATH=LABEL"`` or ``"PATH"`` -> ``(path, label)``; the label defaults to the path's name.

    Examples
    --------
    >>> parse_model_spec("runs/ae_small=AE")
    ('runs/ae_small', 'AE')
    >>> parse_model_spec("default")
    ('default', 'default')
    """
    path, separator, label = text.rpartition("=")
    if not separator or not path or not label or os.sep in label:
        path, label = text, os.path.basename(os.path.normpath(text)) or text
    if label.endswith(".pt"):
        label = label[: -len(".pt")]
    return path, label


def morph_levels(n_steps):
    """``n_steps`` morph levels from 0 to 1 inclusive, ndarray of shape (n_steps,), float64."""
    if n_steps < 2:
        raise ValueError(f"n_steps must be 2 or more; got {n_steps}")
    return np.arange(n_steps) / (n_steps - 1)  # t = i / (n_steps - 1) exactly, ends at 0.0 and 1.0


def middle_steps(levels):
    """Boolean mask of the levels in [0.3, 0.7] (a small tolerance keeps 0.3 and 0.7 in)."""
    levels = np.asarray(levels)
    return (levels >= MIDDLE_LOW - 1e-9) & (levels <= MIDDLE_HIGH + 1e-9)


def held_out_pairs(n_pairs, seed):
    """Parameters of ``n_pairs`` held-out face pairs: two ndarrays of shape (n_pairs, P).

    Drawn with :func:`sample_parameters` from ``numpy.random.default_rng([seed, 1])``, a stream
    separate from the reconstruction faces (``make_faces(n_recon, size, seed)``).
    """
    params = sample_parameters(2 * n_pairs, np.random.default_rng([seed, 1]))
    return params[:n_pairs], params[n_pairs:]


def interpolate(start, end, levels):
    """``(1 - t) start + t end`` for each level: (N, D) and (N, D) -> (N, n_steps, D)."""
    start, end = np.asarray(start), np.asarray(end)
    t = np.asarray(levels)[None, :, None]  # (1, T, 1)
    return (1.0 - t) * start[:, None, :] + t * end[:, None, :]


def true_morphs(params_a, params_b, levels, size):
    """Rendered morphs of interpolated parameters: ndarray of shape (N, n_steps, size, size, 3).

    At ``t = 0`` and ``t = 1`` these are exactly ``render(params_a)`` and ``render(params_b)``.
    """
    # (1 - t) a + t b lies between a and b; the clip only removes last-bit rounding at 0 and 1.
    params = np.clip(interpolate(params_a, params_b, levels), 0.0, 1.0)  # (N, T, P)
    n_pairs, n_steps = params.shape[:2]
    images = render(params.reshape(n_pairs * n_steps, -1), size)
    return images.reshape(n_pairs, n_steps, size, size, 3)


def crossfades(images_a, images_b, levels):
    """Pixel cross-fades ``(1 - t) a + t b``: (N, S, S, C) twice -> (N, n_steps, S, S, C) float32."""
    t = np.asarray(levels, dtype=np.float32)[None, :, None, None, None]
    return (1.0 - t) * images_a[:, None] + t * images_b[:, None]


def in_model_channels(images, channels):
    """RGB images as a model with ``channels`` channels sees them (luminance for grey models)."""
    if channels == 3:
        return images
    from gaia_stim.core.images import prepare_image

    flat = images.reshape(-1, *images.shape[-3:])
    grey = np.stack([prepare_image(image, image.shape[0], 1).pixels for image in flat])
    return grey.reshape(*images.shape[:-1], 1)


def mean_absolute_error(images, reference):
    """Mean absolute pixel error per image over the last three axes (S, S, C)."""
    return np.abs(np.asarray(images, dtype=np.float32) - reference).mean(axis=(-3, -2, -1))


# --------------------------------------------------------------------------------------------
# Measurements


def reconstruction_quality(model, n_faces, seed):
    """Reconstruct ``make_faces(n_faces, model.image_size, seed)``; per-face SSIM and error.

    Returns
    -------
    dict
        ``ssim`` and ``mae``: ndarrays of shape (n_faces,); ``ssim_mean``, ``mae_mean``: floats.
    """
    from skimage.metrics import structural_similarity

    faces = make_faces(n_faces, size=model.image_size, seed=seed)["images"]
    reference = in_model_channels(faces.astype(np.float32) / 255.0, model.channels)
    reconstructions = model.decode(model.encode(faces))
    ssim = np.array([
        structural_similarity(image, target, channel_axis=-1, data_range=1.0)
        for image, target in zip(reconstructions, reference)
    ])
    mae = mean_absolute_error(reconstructions, reference)
    return {"ssim": ssim, "mae": mae, "ssim_mean": float(ssim.mean()), "mae_mean": float(mae.mean())}


def model_morphs(model, truth, levels):
    """A model's morphs and its own renderings of the true morphs.

    Parameters
    ----------
    model : StimulusModel-like
        Anything with ``encode`` and ``decode``.
    truth : ndarray of shape (N, n_steps, S, S, 3)
        True morphs at the model's size; ``truth[:, 0]`` and ``truth[:, -1]`` are the endpoints.
    levels : ndarray of shape (n_steps,)
        The morph levels of ``truth``, from 0 to 1.

    Returns
    -------
    morph, own : ndarrays of shape (N, n_steps, S, S, C)
        ``decode((1 - t) encode(a) + t encode(b))`` and ``decode(encode(truth))``.
    """
    n_pairs, n_steps = truth.shape[:2]
    codes = model.encode(truth.reshape(n_pairs * n_steps, *truth.shape[2:]))
    codes = codes.reshape(n_pairs, n_steps, -1)  # (N, T, D); the endpoints are encode(a), encode(b)
    own = model.decode(codes.reshape(n_pairs * n_steps, -1))
    own = own.reshape(n_pairs, n_steps, *own.shape[1:])
    # Endpoints of the morph are decode(encode(a)) and decode(encode(b)): already in ``own``.
    inner = interpolate(codes[:, 0], codes[:, -1], levels[1:-1])  # (N, T-2, D)
    morph = own.copy()
    if n_steps > 2:
        decoded = model.decode(inner.reshape(n_pairs * (n_steps - 2), -1).astype(np.float32))
        morph[:, 1:-1] = decoded.reshape(n_pairs, n_steps - 2, *decoded.shape[1:])
    return morph, own


def crossfade_label(key, keys):
    """Column name of the cross-fade at (size, channels): "crossfade" when only one is needed."""
    if len(keys) == 1:
        return CROSSFADE
    size, channels = key
    return f"{CROSSFADE}@{size}px" + ("" if channels == 3 else "-grey")


def morph_fidelity(models, labels, params_a, params_b, n_steps, keep_pairs=FIGURE_PAIRS, progress=False):
    """Errors of each model's morph, and of the cross-fade, against the true morph.

    Parameters
    ----------
    models : list of StimulusModel-like
    labels : list of str
        One per model.
    params_a, params_b : ndarrays of shape (n_pairs, P)
    n_steps : int
    keep_pairs : int, default=3
        Keep the images of this many first pairs (for the figure).

    Returns
    -------
    dict
        ``levels`` (n_steps,); ``vs_truth``: {column: ndarray (n_pairs, n_steps)} for every
        model label and cross-fade column; ``vs_own``: {label: ndarray (n_pairs, n_steps)};
        ``crossfade_of``: {label: cross-fade column at that model's size};
        ``kept``: {label: morph images (keep_pairs, n_steps, S, S, C)}.
    """
    from tqdm.auto import tqdm

    if len(models) != len(labels):
        raise ValueError(f"got {len(models)} models and {len(labels)} labels")
    if len(params_a) != len(params_b):
        raise ValueError(f"params_a has {len(params_a)} rows and params_b {len(params_b)}")
    levels = morph_levels(n_steps)
    n_pairs = len(params_a)
    keys = sorted({(model.image_size, model.channels) for model in models})
    crossfade_of = {label: crossfade_label((m.image_size, m.channels), keys) for m, label in zip(models, labels)}
    vs_truth = {crossfade_label(key, keys): [] for key in keys}
    vs_truth.update({label: [] for label in labels})
    vs_own = {label: [] for label in labels}
    kept = {label: [] for label in labels}
    bar = tqdm(total=n_pairs * len(models), disable=not progress, unit="pair", file=sys.stderr, desc="morphs")
    for start in range(0, n_pairs, PAIRS_PER_CHUNK):
        chunk = slice(start, start + PAIRS_PER_CHUNK)
        sizes = sorted({size for size, _ in keys})
        truth_rgb = {size: true_morphs(params_a[chunk], params_b[chunk], levels, size) for size in sizes}
        truth = {}
        for key in keys:
            size, channels = key
            truth[key] = in_model_channels(truth_rgb[size], channels)
            fade = crossfades(truth[key][:, 0], truth[key][:, -1], levels)
            vs_truth[crossfade_label(key, keys)].append(mean_absolute_error(fade, truth[key]))
        for model, label in zip(models, labels):
            key = (model.image_size, model.channels)
            morph, own = model_morphs(model, truth_rgb[model.image_size], levels)
            vs_truth[label].append(mean_absolute_error(morph, truth[key]))
            vs_own[label].append(mean_absolute_error(morph, own))
            if start < keep_pairs:
                kept[label].append(morph[: keep_pairs - start])
            bar.update(len(morph))
    bar.close()
    return {
        "levels": levels,
        "vs_truth": {name: np.concatenate(rows) for name, rows in vs_truth.items()},
        "vs_own": {name: np.concatenate(rows) for name, rows in vs_own.items()},
        "crossfade_of": crossfade_of,
        "kept": {label: np.concatenate(rows) if rows else None for label, rows in kept.items()},
    }


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator > 0 else float("nan")


def summarise(fidelity, labels):
    """Per-step means and the middle-step summary of :func:`morph_fidelity`'s errors.

    Returns
    -------
    dict
        ``per_step``: {column: {"vs_true_morph": [n_steps], "vs_true_morph_sem": [...],
        "vs_own_rendering": [...] (models only)}}; ``middle``: {column: {...}} with the
        middle-step means, ratios to the cross-fade and, for the other models, the ratio
        first model / this model.
    """
    mask = middle_steps(fidelity["levels"])
    per_step, middle = {}, {}
    for name, errors in fidelity["vs_truth"].items():
        entry = {
            "vs_true_morph": errors.mean(axis=0).tolist(),
            "vs_true_morph_sem": (errors.std(axis=0, ddof=1) / np.sqrt(len(errors))).tolist()
            if len(errors) > 1 else [float("nan")] * errors.shape[1],
        }
        summary = {"vs_true_morph": float(errors[:, mask].mean())}
        if name in fidelity["vs_own"]:
            own = fidelity["vs_own"][name]
            entry["vs_own_rendering"] = own.mean(axis=0).tolist()
            summary["vs_own_rendering"] = float(own[:, mask].mean())
        per_step[name] = entry
        middle[name] = summary
    first = labels[0]
    for label in labels:
        crossfade = middle[fidelity["crossfade_of"][label]]["vs_true_morph"]
        middle[label]["crossfade_column"] = fidelity["crossfade_of"][label]
        middle[label]["ratio_to_crossfade"] = _ratio(middle[label]["vs_true_morph"], crossfade)
        if label != first:
            for kind in ("vs_true_morph", "vs_own_rendering"):
                middle[label][f"ratio_{first}_over_this_{kind}"] = _ratio(middle[first][kind], middle[label][kind])
    return {
        "per_step": per_step,
        "middle": middle,
        "middle_levels": [float(t) for t in fidelity["levels"][mask]],
    }


# --------------------------------------------------------------------------------------------
# Report


def format_table(header, rows, first_left=True):
    """Plain-text table: a header and rows of strings, right-aligned (the first column left if ``first_left``)."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        cells = [
            str(cell).ljust(widths[i]) if i == 0 and first_left else str(cell).rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), *[line(row) for row in rows]])


def per_step_table(summary, levels, columns, kind):
    """Rows step, morph_level, then one mean error per column (``kind`` picks the comparison)."""
    header = ["step", "morph_level", *columns]
    rows = []
    for step, level in enumerate(levels):
        values = [f"{summary['per_step'][name][kind][step]:.4f}" for name in columns]
        rows.append([str(step), f"{level:.2f}", *values])
    return format_table(header, rows, first_left=False)


def report(result):
    """The printed report of :func:`run` (a string)."""
    labels = [model["label"] for model in result["models"]]
    summary = result["morph"]
    levels = result["morph_levels"]
    crossfade_columns = [name for name in summary["per_step"] if name not in labels]
    parts = [
        f"face_quality: held-out faces from seed {result['seed']} (the default model was trained on"
        f" make_faces(..., seed={TRAINING_SEED})); pixels in [0, 1]",
        "models: " + "; ".join(
            f"{m['label']} = {m['name']} ({m['preset']}, {m['image_size']}px x{m['channels']},"
            f" latent {m['latent_dim']}, sha256 {m['file_sha256'][:12]})"
            for m in result["models"]
        ),
        "",
        f"Reconstruction of {result['n_recon']} held-out faces (make_faces(n, size, seed={result['seed']}))",
        format_table(
            ["model", "size", "SSIM", "abs_error"],
            [
                [label, str(result["reconstruction"][label]["image_size"]),
                 f"{result['reconstruction'][label]['ssim_mean']:.4f}",
                 f"{result['reconstruction'][label]['mae_mean']:.4f}"]
                for label in labels
            ],
        ),
        "",
        f"Morph vs the true morph render((1-t) p_a + t p_b): mean absolute pixel error,"
        f" {result['n_pairs']} pairs",
        per_step_table(summary, levels, crossfade_columns + labels, "vs_true_morph"),
        "",
        "Morph vs model's own rendering of the true morph, decode(encode(true morph)):"
        " mean absolute pixel error",
        per_step_table(summary, levels, labels, "vs_own_rendering"),
        "",
    ]
    middle = summary["middle"]
    middle_levels = summary["middle_levels"]
    parts.append(
        f"Middle steps (morph level {MIDDLE_LOW:g} to {MIDDLE_HIGH:g} inclusive, {len(middle_levels)} steps):"
        " mean absolute pixel error"
    )
    rows = [[name, f"{middle[name]['vs_true_morph']:.4f}", "1.00", "", ""] for name in crossfade_columns]
    for label in labels:
        rows.append([
            label,
            f"{middle[label]['vs_true_morph']:.4f}",
            f"{middle[label]['ratio_to_crossfade']:.2f}",
            f"{middle[label]['vs_own_rendering']:.4f}",
            "",
        ])
    first = labels[0]
    for row, label in zip(rows[len(crossfade_columns):], labels):
        if label != first:
            row[4] = (
                f"{middle[label][f'ratio_{first}_over_this_vs_true_morph']:.2f}"
                f" / {middle[label][f'ratio_{first}_over_this_vs_own_rendering']:.2f}"
            )
    header = ["model", "vs_true_morph", "/crossfade", "vs_own_rendering", f"{first}/this (true / own)"]
    if len(labels) == 1:
        header, rows = header[:-1], [row[:-1] for row in rows]
    parts.append(format_table(header, rows))
    parts.append(
        f"(ratios below 1: {first} closer than the other; /crossfade below 1: the model beats a pixel cross-fade)"
    )
    parts.append(f"elapsed {result['elapsed_s']:.1f} s")
    return "\n".join(parts)


def _label_font():  # Pillow's built-in bitmap font: no font files needed
    from PIL import ImageFont

    return ImageFont.load_default()


def write_figure(path, params_a, params_b, fidelity, models, labels, n_pairs=FIGURE_PAIRS):
    """PNG: for each of the first ``n_pairs`` pairs, rows true morph, each model's morph, cross-fade."""
    from PIL import Image, ImageDraw

    from gaia_stim.core.tiles import tile_grid

    levels = fidelity["levels"]
    n_pairs = min(n_pairs, len(params_a))
    size = max(model.image_size for model in models)
    truth = true_morphs(params_a[:n_pairs], params_b[:n_pairs], levels, size)
    fade = crossfades(truth[:, 0], truth[:, -1], levels)

    def to_display(images):  # (N, T, s, s, C) -> (N, T, size, size, 3)
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        if images.shape[2] == size:
            return images
        flat = images.reshape(-1, *images.shape[2:])
        resized = np.stack([
            np.asarray(Image.fromarray(np.round(image * 255).astype(np.uint8)).resize((size, size), Image.NEAREST))
            for image in flat
        ]).astype(np.float32) / 255.0
        return resized.reshape(*images.shape[:2], size, size, 3)

    row_names = ["true morph", *labels, "crossfade"]
    font = _label_font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max(measure.textbbox((0, 0), f"pair {n_pairs}: {name}", font=font)[2] for name in row_names)
    margin, spacer, header = text_width + 12, 10, 16
    panels = []
    for pair in range(n_pairs):
        rows = [truth[pair], *[to_display(fidelity["kept"][label][pair : pair + 1])[0] for label in labels], fade[pair]]
        panels.append(tile_grid(np.stack(rows)))
    tile = (panels[0].shape[1] - 2) // len(levels) - 2  # tile_grid: gap 2 around every tile
    width = margin + panels[0].shape[1]
    height = header + sum(panel.shape[0] for panel in panels) + spacer * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for column, level in enumerate(levels):
        left = margin + 2 + column * (tile + 2)
        draw.text((left + tile // 2, header // 2), f"{level:.2f}", fill=(0, 0, 0), font=font, anchor="mm")
    top = header
    for pair, panel in enumerate(panels):
        canvas.paste(Image.fromarray(panel), (margin, top))
        for row, name in enumerate(row_names):
            centre = top + 2 + row * (tile + 2) + tile // 2
            text = f"pair {pair + 1}: {name}" if row == 0 else name
            draw.text((4, centre), text, fill=(0, 0, 0), font=font, anchor="lm")
        top += panel.shape[0] + spacer
    canvas.save(path, format="PNG")
    return path


# --------------------------------------------------------------------------------------------
# Run


def versions():
    import skimage
    import torch

    import gaia_stim

    return {
        "gaia_stim": gaia_stim.__version__,
        "torch": str(torch.__version__),
        "numpy": np.__version__,
        "scikit_image": skimage.__version__,
        "python": platform.python_version(),
    }


def describe_model(model, label, spec):
    return {
        "label": label,
        "name": str(model.name),
        "spec": spec,
        "path": getattr(model, "path", None),
        "file_sha256": str(getattr(model, "file_sha256", "")),
        "preset": str(getattr(model, "preset", "custom")),
        "image_size": int(model.image_size),
        "channels": int(model.channels),
        "latent_dim": int(model.latent_dim),
        "training": dict(getattr(model, "training", {})),
    }


def run(models, labels, seed=DEFAULT_SEED, n_recon=200, n_pairs=100, n_steps=11, specs=None, progress=False):
    """Measure reconstruction and morph fidelity of ``models``; returns the JSON-ready result.

    The images of the first pairs (for :func:`write_figure`) are under the key ``"_fidelity"``,
    which is not written to JSON.
    """
    started = time.perf_counter()
    if len(set(labels)) != len(labels):
        raise ValueError(f"model labels must differ; got {labels}")
    params_a, params_b = held_out_pairs(n_pairs, seed)
    reconstruction = {}
    for model, label in zip(models, labels):
        quality = reconstruction_quality(model, n_recon, seed)
        reconstruction[label] = {
            "image_size": int(model.image_size),
            "ssim_mean": quality["ssim_mean"],
            "mae_mean": quality["mae_mean"],
            "ssim_std": float(quality["ssim"].std()),
            "mae_std": float(quality["mae"].std()),
        }
    fidelity = morph_fidelity(models, labels, params_a, params_b, n_steps, progress=progress)
    summary = summarise(fidelity, labels)
    specs = specs or [model.name for model in models]
    return {
        "benchmark": "face_quality",
        "seed": seed,
        "held_out": (
            f"reconstruction: make_faces(n_recon, size, seed={seed}); pairs: sample_parameters(2 * n_pairs,"
            f" numpy.random.default_rng([{seed}, 1])), a = first n_pairs rows, b = the rest; the default"
            f" model was trained on make_faces(..., seed={TRAINING_SEED})"
        ),
        "n_recon": n_recon,
        "n_pairs": n_pairs,
        "n_steps": n_steps,
        "image_sizes": sorted({int(model.image_size) for model in models}),
        "parameter_names": list(PARAMETERS),
        "morph_levels": [float(t) for t in fidelity["levels"]],
        "middle_levels": summary["middle_levels"],
        "error": "mean absolute pixel error, pixels in [0, 1], averaged over pixels, channels and pairs",
        "models": [describe_model(model, label, spec) for model, label, spec in zip(models, labels, specs)],
        "versions": versions(),
        "reconstruction": reconstruction,
        "morph": summary,
        "elapsed_s": time.perf_counter() - started,
        "_fidelity": fidelity,
        "_pairs": (params_a, params_b),
    }


def load_models(specs):
    """Load every ``--model`` spec; raises SystemExit with one line for the first bad one."""
    import gaia_stim
    from gaia_stim.core.errors import GaiaStimError

    models, labels = [], []
    for spec in specs:
        path, label = parse_model_spec(spec)
        try:
            models.append(gaia_stim.load_model(path))
        except (GaiaStimError, OSError) as error:
            raise SystemExit(f"face_quality: error: --model {spec!r}: {error}") from None
        labels.append(label)
    reserved = [label for label in labels if label.startswith(CROSSFADE)]
    if reserved:
        raise SystemExit(f"face_quality: error: --model label {reserved[0]!r} is reserved; choose another =LABEL")
    if len(set(labels)) != len(labels):
        raise SystemExit(f"face_quality: error: model labels must differ; got {labels}; add =LABEL to a --model")
    return models, labels


def build_parser():
    parser = argparse.ArgumentParser(
        prog="face_quality.py",
        description=(
            "Reconstruction and morph fidelity of gaia-stim models on held-out synthetic faces. "
            f"Held-out faces use --seed (default {DEFAULT_SEED}); the default model was trained on "
            f"make_faces(..., seed={TRAINING_SEED})."
        ),
    )
    parser.add_argument(
        "--model", action="append", required=True, metavar="PATH[=LABEL]",
        help="'default', a run folder or a model file, optionally =LABEL; repeat. The first is the reference of the ratios.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"Seed of the held-out faces (default {DEFAULT_SEED}).")
    parser.add_argument("--n-recon", type=int, default=200, help="Faces to reconstruct (default 200).")
    parser.add_argument("--n-pairs", type=int, default=100, help="Face pairs to morph (default 100).")
    parser.add_argument("--steps", type=int, default=11, help="Morph levels, both ends included (default 11).")
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="Write the results as JSON.")
    parser.add_argument("--figure", metavar="PATH", help="Write a PNG of the morphs of the first 3 pairs.")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, low in (("n_recon", 1), ("n_pairs", 1), ("steps", 2), ("seed", 0)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be at least {low}; got {getattr(args, name)}")
    if args.seed == TRAINING_SEED:
        print(f"face_quality: warning: seed {TRAINING_SEED} is the default model's training seed;"
              " those faces are not held out", file=sys.stderr)
    try:
        import skimage  # noqa: F401
    except ImportError:
        raise SystemExit("face_quality: error: scikit-image is needed (pip install 'gaia-stim[eval]')") from None
    models, labels = load_models(args.model)
    result = run(
        models, labels, seed=args.seed, n_recon=args.n_recon, n_pairs=args.n_pairs, n_steps=args.steps,
        specs=args.model, progress=sys.stderr.isatty(),
    )
    print(report(result))
    if args.json_path:
        record = {key: value for key, value in result.items() if not key.startswith("_")}
        with open(args.json_path, "w") as stream:
            json.dump(record, stream, indent=2, allow_nan=True)
            stream.write("\n")
        print(f"wrote {args.json_path}")
    if args.figure:
        params_a, params_b = result["_pairs"]
        write_figure(args.figure, params_a, params_b, result["_fidelity"], models, labels)
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
