"""Image distances, the yardsticks of equal-distance continua, grids and wheels.

All take two batches of images of the same shape, (N, H, W, C) float in [0, 1], and return the
N distances between corresponding images (float64):

* ``pixel``: root-mean-square pixel difference (in units of the full range 0..1);
* ``ssim``: 1 - SSIM (scikit-image ``structural_similarity``, data range 1, 7x7 windows, channels
  averaged), 0 for identical images;
* ``nlpd``: the normalised Laplacian pyramid distance (Laparra et al. 2016), a perceptual metric
  fitted to human judgements, from plenoptic (``pip install "gaia-stim[perceptual]"``); colour
  images are measured on their luminance;
* ``feature``: root-mean-square difference of the discriminator's encoder features (its content
  feature map and style code), which needs the discriminator: a model loaded from a training run
  folder (its ``checkpoint.pt`` holds it) or a model file that carries it (``model.features``).
"""

from gaia_stim.core.errors import InputError

# numpy is imported inside the functions that compute: the command line reads METRICS when it
# starts, and `gaia-stim --help` should not pay for numpy.

__all__ = ["METRICS", "check_metric", "distances", "step_distances", "coefficient_of_variation"]

METRICS = ("pixel", "ssim", "nlpd", "feature")
_MIN_SIDE = {"ssim": 7, "nlpd": 64}


def check_metric(metric, model=None, image_size=None):
    """Refuse an unknown metric, a missing optional library, or images too small for the metric."""
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(map(repr, METRICS))}; got {metric!r}")
    if metric == "nlpd":
        _plenoptic()
    if metric == "ssim":
        _ssim()
    if metric == "feature" and model is not None and not getattr(model, "has_features", callable(getattr(model, "features", None))):
        raise InputError(
            "--metric feature needs the discriminator's encoder, and this model file holds only the generator"
            " with no checkpoint.pt beside it; give --model a training run folder (its checkpoint.pt holds the"
            " discriminator) or use another --metric"
        )
    if image_size is not None and image_size < _MIN_SIDE.get(metric, 1):
        raise InputError(
            f"--metric {metric} needs images of at least {_MIN_SIDE[metric]}x{_MIN_SIDE[metric]} pixels;"
            f" this model makes {image_size}x{image_size}: use --metric pixel"
        )
    return metric


def _plenoptic():
    try:
        from plenoptic.metric import nlpd
    except ImportError:
        raise InputError(
            "--metric nlpd needs plenoptic, which is not installed; install it with"
            ' pip install "gaia-stim[perceptual]", or use --metric pixel or ssim'
        ) from None
    return nlpd


def _ssim():
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        raise InputError(
            '--metric ssim needs scikit-image; install it with pip install scikit-image, or use --metric pixel'
        ) from None
    return structural_similarity


def distances(images_a, images_b, metric="pixel", model=None):
    """Distances between corresponding images: ndarray of shape (N,), float64.

    Parameters
    ----------
    images_a, images_b : ndarray of shape (N, H, W, C), float in [0, 1]
    metric : {"pixel", "ssim", "nlpd", "feature"}, default="pixel"
    model : object, optional
        Needed for ``feature`` (its ``features`` method).
    """
    import numpy as np

    check_metric(metric, model)
    a = np.asarray(images_a, dtype=np.float64)
    b = np.asarray(images_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise InputError(f"distances need two (N, H, W, C) batches of one shape; got {a.shape} and {b.shape}")
    if metric == "pixel":
        return np.sqrt(np.mean((a - b) ** 2, axis=(1, 2, 3)))
    if metric == "ssim":
        structural_similarity = _ssim()
        return np.array([
            1.0 - structural_similarity(x, y, data_range=1.0, channel_axis=-1) for x, y in zip(a, b)
        ])
    if metric == "nlpd":
        import torch

        nlpd = _plenoptic()
        grey_a, grey_b = (_luminance(x) for x in (a, b))
        with torch.no_grad():
            values = nlpd(torch.from_numpy(grey_a), torch.from_numpy(grey_b))
        return values.reshape(len(a), -1).mean(axis=1).double().numpy()
    features_a = np.asarray(model.features(a.astype(np.float32)), dtype=np.float64)
    features_b = np.asarray(model.features(b.astype(np.float32)), dtype=np.float64)
    return np.sqrt(np.mean((features_a - features_b).reshape(len(a), -1) ** 2, axis=1))


def _luminance(images):
    """(N, H, W, C) -> (N, 1, H, W) float32 luminance (BT.601), the layout plenoptic wants."""
    import numpy as np

    grey = images[..., 0] if images.shape[-1] == 1 else images @ np.array([0.299, 0.587, 0.114])
    return np.ascontiguousarray(grey[:, None], dtype=np.float32)


def step_distances(images, metric="pixel", model=None, closed=False):
    """Distance of each image to the one before it: (N - 1,), or (N,) around a closed loop."""
    import numpy as np

    images = np.asarray(images)
    following = np.roll(images, -1, axis=0) if closed else images[1:]
    return distances(images if closed else images[:-1], following, metric, model)


def coefficient_of_variation(values):
    """Standard deviation / mean (population SD); 0 for fewer than two values."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2 or values.mean() == 0:
        return 0.0
    return float(values.std() / values.mean())
