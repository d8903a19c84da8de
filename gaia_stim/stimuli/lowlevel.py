"""Low-level control of a stimulus set (the job of the SHINE toolbox, Willenbockel et al. 2010).

An :class:`Adjustment` is applied to every image as it is written, in this order: greyscale
(BT.601 luminance), final size (Lanczos), matching across the set, then a mask on a background
grey. Matching, like SHINE's, works on grey images and inside the mask:

* ``luminance``: every image gets the set's mean luminance and mean RMS contrast (standard
  deviation of luminance, 0..1 units): ``x' = (x - mean) / sd * target_sd + target_mean``;
* ``histogram``: every image gets the set's pooled histogram (exact histogram specification:
  pixels ranked, ties broken by position, and given the pooled quantiles), as SHINE's
  ``histMatch``. scikit-image's ``match_histograms`` maps equal values to equal values, so it
  cannot make histograms equal; shinier (SHINE's Python port) runs its pipeline through
  temporary folders of files and builds a compiled extension from source, which does not fit a
  writer that streams a batch at a time; the arithmetic is a few lines of numpy.

Targets come from a first pass over the set (after greyscale and resizing), so a set streamed
from latents is decoded twice when it is matched. Rounding to 8 bits and clipping to 0..255 move
the matched figures slightly; ``stimuli.csv`` records each written image's own figures.
"""

import math

import numpy as np
from PIL import Image

from gaia_stim.core.errors import InputError
from gaia_stim.io.images import luminance

__all__ = ["MATCHES", "MASKS", "Adjustment", "mask_alpha"]

MATCHES = ("luminance", "histogram")
MASKS = ("circle", "oval", "raised-cosine")
MAX_SIZE = 4096


def mask_alpha(kind, size):
    """(size, size) float64 in [0, 1]: 1 inside the mask, 0 outside.

    ``circle``: the inscribed disc; ``oval``: an upright ellipse 3/4 as wide as it is tall;
    ``raised-cosine``: the inscribed disc whose outer fifth of radius fades out on a cosine ramp.
    """
    centre = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size]
    if kind == "oval":
        radius = np.hypot((x - centre) / (0.75 * size / 2), (y - centre) / (size / 2))
    else:
        radius = np.hypot(x - centre, y - centre) / (size / 2)
    if kind == "raised-cosine":
        ramp = np.clip((radius - 0.8) / 0.2, 0, 1)
        return 0.5 * (1 + np.cos(np.pi * ramp))
    return (radius <= 1).astype(np.float64)


class Adjustment:
    """Greyscale, final size, matching across the set and a mask; see the module docstring.

    Parameters
    ----------
    greyscale : bool, default=False
    size : int, optional
        Final width and height in pixels (8 to 4096).
    match : {"luminance", "histogram"}, optional
    mask : {"circle", "oval", "raised-cosine"}, optional
    background : float, default=0.5
        The grey outside the mask, 0 (black) to 1 (white).
    """

    def __init__(self, greyscale=False, size=None, match=None, mask=None, background=0.5):
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= MAX_SIZE:
                raise InputError(f"--size must be a whole number of pixels from 8 to {MAX_SIZE}; got {size!r}")
            size = int(size)
        if match is not None and match not in MATCHES:
            raise InputError(f"--match must be one of {', '.join(MATCHES)}; got {match!r}")
        if mask is not None and mask not in MASKS:
            raise InputError(f"--mask must be one of {', '.join(MASKS)}; got {mask!r}")
        try:
            background = float(background)
        except (TypeError, ValueError):
            raise InputError(f"--background must be a grey level from 0 to 1; got {background!r}") from None
        if not math.isfinite(background) or not 0 <= background <= 1:
            raise InputError(f"--background must be a grey level from 0 (black) to 1 (white); got {background}")
        self.greyscale, self.size, self.match, self.mask, self.background = bool(greyscale), size, match, mask, background
        self.targets = None

    def record(self):
        """The options and fitted targets, for the manifest."""
        return {"greyscale": self.greyscale, "size": self.size, "match": self.match, "mask": self.mask,
                "background": self.background, "targets": self.targets}

    @classmethod
    def from_record(cls, record):
        """An unfitted Adjustment from :meth:`record`'s dict (None for None)."""
        if record is None:
            return None
        return cls(record["greyscale"], record["size"], record["match"], record["mask"], record["background"])

    # ----------------------------------------------------------------------------------------

    def _shape(self, pixels):
        """Greyscale and resize: uint8 (B, H, W, C) -> float64 (B, H', W', C') in 0..255."""
        images = pixels.astype(np.float64)
        if self.greyscale and images.shape[-1] == 3:
            images = np.round(luminance(images))[..., None]
        if self.size is not None and self.size != images.shape[1]:
            resized = []
            for image in np.clip(np.round(images), 0, 255).astype(np.uint8):
                pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
                resized.append(np.asarray(pil.resize((self.size, self.size), Image.Resampling.LANCZOS)))
            images = np.stack(resized).astype(np.float64)
            if images.ndim == 3:
                images = images[..., None]
        return images

    def _inside(self, side):
        alpha = mask_alpha(self.mask, side) if self.mask else np.ones((side, side))
        return alpha >= 0.5

    def fitted(self, batches):
        """This adjustment with the set's targets measured over ``batches`` (uint8 or float in [0, 1])."""
        if self.match is None:
            return self
        from gaia_stim.io.images import to_uint8

        means, deviations, histogram = [], [], np.zeros(256)
        for batch in batches:
            images = self._shape(to_uint8(batch))
            if images.shape[-1] != 1:
                raise InputError("--match works on grey images (as SHINE does): add --greyscale")
            inside = self._inside(images.shape[1])
            for image in images[..., 0]:
                values = image[inside]
                means.append(values.mean())
                deviations.append(values.std())
                histogram += np.bincount(np.clip(np.round(values), 0, 255).astype(int), minlength=256)
        fitted = Adjustment(self.greyscale, self.size, self.match, self.mask, self.background)
        if self.match == "luminance":
            fitted.targets = {"mean_luminance": float(np.mean(means)) / 255, "rms_contrast": float(np.mean(deviations)) / 255}
        else:
            fitted.targets = {"histogram": [int(count) for count in histogram]}
        return fitted

    def apply(self, pixels):
        """uint8 (B, H, W, C) -> the adjusted uint8 images."""
        images = self._shape(pixels)
        side = images.shape[1]
        if self.match is not None:
            if self.targets is None:
                raise ValueError("fit the adjustment to the set first (Adjustment.fitted)")
            inside = self._inside(side)
            for image in images[..., 0]:
                values = image[inside]
                if self.match == "luminance":
                    deviation = values.std()
                    scale = self.targets["rms_contrast"] * 255 / deviation if deviation > 0 else 0.0
                    image[inside] = (values - values.mean()) * scale + self.targets["mean_luminance"] * 255
                else:
                    image[inside] = _specify_histogram(values, np.asarray(self.targets["histogram"], dtype=np.float64))
        if self.mask is not None:
            alpha = mask_alpha(self.mask, side)[None, :, :, None]
            images = alpha * images + (1 - alpha) * self.background * 255
        return np.clip(np.round(images), 0, 255).astype(np.uint8)


def _specify_histogram(values, histogram):
    """``values`` given the quantiles of ``histogram`` (256 counts), rank for rank."""
    order = np.argsort(values, kind="stable")
    quantiles = (np.arange(len(values)) + 0.5) / len(values)
    cumulative = np.cumsum(histogram) / histogram.sum()
    result = np.empty_like(values)
    result[order] = np.searchsorted(cumulative, quantiles, side="left").astype(np.float64)
    return result
