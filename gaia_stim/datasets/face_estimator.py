"""Measure synthetic faces: the 16 parameters of an image, its nearest face, and how far it is from it.

The synthetic face family (:mod:`gaia_stim.datasets.face_parameters`) can render any parameter vector, so an
image can be measured by *analysis by synthesis*: find the parameters whose rendering is closest
to the image. That measurement is independent of any GAIA model, which is what the interpolation
benchmarks and the attribute-axis validation need.

How it works, in two stages:

1. A ridge regression from the pixels of a 32 px version of the image to the parameters gives a
   first guess. It is fitted on :data:`RIDGE_FACES` faces rendered with a fixed seed, once per
   process (about a second), so every call gives the same answer.
2. Levenberg-Marquardt minimisation of the squared pixel difference between the image and
   ``render(p)`` refines the guess, first at a coarse size (the image box-filtered by a whole
   factor, 32 px for 64 or 128 px images), then at the image's own size. The Jacobian is
   taken by finite differences (``render`` is a smooth function of the parameters), and every
   parameter stays in [0, 1].

On held-out rendered faces the ridge guess alone is off by 0 to 0.1 of a parameter's range on
average; after refinement almost every face is recovered to within 0.001 of the range. The
minimisation is local: now and then (a few faces in a hundred at sizes that are not whole
multiples of 32 px) it settles on a nearby face with, say, the eyes one step apart. The figures
are measured by ``benchmarks/face_estimator_accuracy.py`` (record:
docs/records/face_estimator_accuracy.json). For an image that is not a member of the
family (a blurred face, the middle frame of a cross-fade, a model's output) the minimisation still
returns the nearest face it finds, and :func:`realism` reports how far the image is from it.
"""

import functools

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.datasets.face_parameters import PARAMETERS, sample_parameters
from gaia_stim.datasets.face_render import render

__all__ = ["RIDGE_FACES", "WORKING_SIZE", "estimate_parameters", "nearest_faces", "realism"]

WORKING_SIZE = 32  # pixels: the size of the ridge guess and of the first refinement
RIDGE_FACES = 6000  # rendered faces the ridge regression is fitted on
_RIDGE_SEED = 20021  # fixed: the estimator is part of the measurement, not a random choice
_RIDGE_PENALTY = 1.0
_STEP = 0.01  # finite-difference step, in parameter units
_CHUNK = 128  # images refined at once: bounds memory at 17 renderings per image


def _check_images(images):
    """``(N, S, S, 3)`` uint8 or float in [0, 1] (or one ``(S, S, 3)`` image) -> float32 array."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[1] != array.shape[2]:
        raise InputError(
            f"face images must have shape (N, S, S, 3) (square RGB); got {array.shape}. "
            "The synthetic faces are square colour images."
        )
    if array.shape[1] < WORKING_SIZE:
        raise InputError(f"face images must be at least {WORKING_SIZE} px wide; got {array.shape[1]} px.")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"face images must be uint8 or float in [0, 1]; got dtype {array.dtype}.")
    if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
        raise InputError("float face images must hold finite values in [0, 1].")
    return array.astype(np.float32)


def _downsample(images, size):
    """Box-filter ``images`` to ``size`` px (area average; exact for whole-number factors)."""
    if images.shape[1] == size:
        return images
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    small = torch.nn.functional.interpolate(tensor, size=(size, size), mode="area")
    return small.permute(0, 2, 3, 1).numpy()


def _coarse_size(size):
    """The smallest size ``size`` shrinks to by a whole-number factor while staying >= 32 px.

    Renderings at that size match a box-filtered image closely; at other sizes they do not, and
    the minimisation can settle on the wrong face.
    """
    factor = size // WORKING_SIZE
    while size % factor:
        factor -= 1
    return size // factor


@functools.lru_cache(maxsize=1)
def _ridge():
    """The first-guess regression: (pixel mean, weights, parameter mean), fitted once."""
    params = sample_parameters(RIDGE_FACES, np.random.default_rng(_RIDGE_SEED))
    pixels = render(params, WORKING_SIZE).reshape(RIDGE_FACES, -1).astype(np.float64)
    pixel_mean = pixels.mean(axis=0)
    centred = pixels - pixel_mean
    gram = centred.T @ centred + _RIDGE_PENALTY * np.eye(centred.shape[1])
    weights = np.linalg.solve(gram, centred.T @ (params - params.mean(axis=0)))
    return pixel_mean, weights, params.mean(axis=0)


def _first_guess(small):
    pixel_mean, weights, param_mean = _ridge()
    flat = small.reshape(len(small), -1).astype(np.float64)
    return np.clip((flat - pixel_mean) @ weights + param_mean, 0.0, 1.0)


def _refine(images, params, iterations):
    """Levenberg-Marquardt on ``sum (render(p) - image)^2``, each image on its own damping."""
    n, size = len(images), images.shape[1]
    n_params = len(PARAMETERS)
    target = images.reshape(n, -1).astype(np.float64)
    residual = render(params, size).reshape(n, -1) - target
    cost = np.einsum("nd,nd->n", residual, residual)
    damping = np.full(n, 1e-2)
    eye = np.eye(n_params)
    for _ in range(iterations):
        step = np.where(params < 1.0 - _STEP, _STEP, -_STEP)  # forward differences inside [0, 1]
        shifted = np.repeat(params[:, None, :], n_params, axis=1)
        shifted[:, np.arange(n_params), np.arange(n_params)] += step
        moved = render(shifted.reshape(-1, n_params), size).reshape(n, n_params, -1) - target[:, None]
        jacobian = (moved - residual[:, None]) / step[:, :, None]
        normal = np.einsum("nid,njd->nij", jacobian, jacobian)
        gradient = np.einsum("nid,nd->ni", jacobian, residual)
        scale = np.maximum(np.diagonal(normal, axis1=1, axis2=2), 1e-9)
        system = normal + damping[:, None, None] * eye * scale[:, :, None]
        candidate = np.clip(params - np.linalg.solve(system, gradient[..., None])[..., 0], 0.0, 1.0)
        new_residual = render(candidate, size).reshape(n, -1) - target
        new_cost = np.einsum("nd,nd->n", new_residual, new_residual)
        better = new_cost < cost
        params = np.where(better[:, None], candidate, params)
        residual = np.where(better[:, None], new_residual, residual)
        cost = np.where(better, new_cost, cost)
        damping = np.where(better, damping / 3.0, damping * 4.0)
    return params


def estimate_parameters(images, iterations=(8, 6)):
    """Estimate the face parameters of images by analysis by synthesis.

    Parameters
    ----------
    images : array-like of shape (N, S, S, 3) or (S, S, 3)
        uint8, or float in [0, 1]; ``S >= 32``. Any image is accepted; for images that are not
        faces of the family the result is the nearest face the minimisation finds.
    iterations : (int, int), default=(8, 6)
        Levenberg-Marquardt iterations at a coarse size (``S`` divided by the largest whole
        number that keeps it >= 32 px: 32 for 64 or 128 px images) and then at ``S`` px (skipped
        when the coarse size is ``S``).

    Returns
    -------
    ndarray of shape (N, 16)
        float64 parameters in [0, 1], columns in the order of :data:`~gaia_stim.datasets.face_parameters.PARAMETERS`.

    Examples
    --------
    >>> from gaia_stim.datasets import AVERAGE_FACE, render
    >>> p = estimate_parameters(render(AVERAGE_FACE, size=32))
    >>> bool(abs(p - 0.5).max() < 0.01)
    True
    """
    images = _check_images(images)
    coarse_iterations, fine_iterations = iterations
    estimates = np.empty((len(images), len(PARAMETERS)))
    for start in range(0, len(images), _CHUNK):
        chunk = images[start : start + _CHUNK]
        coarse = _downsample(chunk, _coarse_size(chunk.shape[1]))
        params = _refine(coarse, _first_guess(_downsample(coarse, WORKING_SIZE)), coarse_iterations)
        if coarse.shape[1] != chunk.shape[1]:
            params = _refine(chunk, params, fine_iterations)
        estimates[start : start + _CHUNK] = params
    return estimates


def nearest_faces(images, iterations=(8, 6)):
    """``(parameters, renderings)``: the estimated parameters and their faces at the images' size."""
    images = _check_images(images)
    params = estimate_parameters(images, iterations)
    return params, render(params, images.shape[1])


def realism(images, iterations=(8, 6)):
    """How far each image is from the nearest face of the family.

    Returns a dict of per-image arrays:

    ``pixel``
        RMS pixel difference to the nearest face (pixels in [0, 1]); 0 for a face of the family.
    ``ssim``
        ``1 - SSIM`` against the nearest face (scikit-image, colour, 7 px window); 0 for a face.
    ``params``
        The nearest face's parameters, shape (N, 16).

    Blur, ghosted double contours and noise all raise both distances; the pixel distance is the
    one the benchmarks' thresholds use, SSIM is reported beside it because it weighs structure.
    """
    from skimage.metrics import structural_similarity

    images = _check_images(images)
    params, faces = nearest_faces(images, iterations)
    pixel = np.sqrt(((images - faces) ** 2).reshape(len(images), -1).mean(axis=1))
    ssim = np.array(
        [1.0 - structural_similarity(x, f, channel_axis=-1, data_range=1.0) for x, f in zip(images, faces)]
    )
    return {"pixel": pixel, "ssim": ssim, "params": params}
