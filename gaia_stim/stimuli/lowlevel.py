"""Low-level control of a stimulus set (the job of the SHINE toolbox, Willenbockel et al. 2010).

An :class:`Adjustment` is applied to every image as it is written, in this order: greyscale
(BT.601 luminance), final size (Lanczos), the split of each image into figure and background,
matching across the set, then a mask (the aperture) on the background grey.

**Figure and background.** Matching works on the *figure*, not the frame. A face drawn on a plain
grey ground has two parts: the face (the figure) and the ground. Matching everything inside the
aperture, as SHINE does, shifts the ground with the face: a darker face gets a brighter ground, and
participants can sort the images by the ground alone. So, with ``figure="auto"`` (the default when
matching or masking), each image is split in two (:func:`border_figure`):

* its ground's grey is the median of its outermost ring of pixels (per channel);
* its background is every pixel within :data:`FIGURE_THRESHOLD` (6/255) of that grey, on every
  channel, that connects to the image's edge through such pixels (4-neighbours); everything else
  is the figure, but for specks smaller than :data:`SMALLEST_PART` of the image (background noise
  of a model's output), which go to the background;
* the figure is drawn on the ``background`` grey and matched there; every background pixel is that
  grey exactly, as outside the aperture: on a window of that grey (the manifest's
  ``adjust.background``) nothing but the figure shows, no square and no disc.

A model draws soft edges: its figure's outline blends into the ground over a pixel or two, and
rings a little beyond it. Matched as figure, those pixels would keep the old ground's share and
draw a halo whose brightness follows the figure's mean, a cue of its own. So the outline
(:data:`OUTLINE_DEPTH` pixels of the image as decoded, scaled with ``--size``) is taken as a blend
(:func:`figure_layers`): each outline pixel's coverage ``a = (x - ground) / (inner - ground)`` in
luminance, clipped to 0..1, where ``inner`` is the nearest pixel inside the outline; it is drawn as
``a * figure + (1 - a) * grey``. Ringing beyond the ground's grey gets ``a = 0``. On a sharp-edged,
textured figure this softens the outermost pixels towards the grey a little.

Limits: the image must stand on a plain ground. An image whose border is not plain (fewer than
:data:`PLAIN_BORDER_SHARE`, half, of its border pixels within 6/255 of their median: a textured
or photographed scene) has no plain background to find. If any image of the set has none, or no
figure is found in one, the whole set falls back to matching everything inside the aperture, as
SHINE does and as ``figure="whole"`` asks, with a :class:`FigureWarning`; the manifest records it
(``adjust.figure.background_set`` false). A figure mask drawn by hand (``figure=FILE``) is the way
to match the figure of such images. The threshold also decides where the figure's outline lies:
figure pixels within 6/255 of the ground that touch it (a pale ear on a pale ground) count as
background, and a ground-coloured region enclosed by the figure counts as figure.

``figure=FILE`` takes the figure from a mask image instead (white, 128 or more, is figure), the
same for every image, resized to the images' size; the manifest holds the mask itself (as runs of
pixels), so the set is rebuilt from its manifest alone. ``figure="whole"`` is SHINE's way and the
behaviour of sets written before figures existed: no split, the whole aperture is matched.

**The ground.** A mask alone (no matching) also splits each image by default: its figure is
left as it is and its ground set to the ``background`` grey, so no disc of the source's own ground
shows on the window (sets written before, whose manifests record no ``figure``, are rebuilt the
old way). :meth:`Adjustment.ground` says which grey the ground was given, for the manifest's ``ground``
record (``gaia_stim.io.sets``), which every set has.

**Matching**, like SHINE's, works on grey images, over the figure inside the aperture (the whole
aperture with ``figure="whole"``):

* ``luminance``: every figure gets the set's mean figure luminance and mean figure RMS contrast
  (standard deviation of luminance, 0..1 units). Without a split, ``x' = (x - mean) / sd *
  target_sd + target_mean``; with one, the gain and offset are solved so that the figure as drawn,
  its blended outline included, has exactly the target mean and RMS contrast;
* ``histogram``: every figure gets the set's pooled figure histogram (exact histogram
  specification: pixels ranked, ties broken by position, and given the pooled quantiles), as
  SHINE's ``histMatch``. scikit-image's ``match_histograms`` maps equal values to equal values, so
  it cannot make histograms equal; shinier (SHINE's Python port) runs its pipeline through
  temporary folders of files and builds a compiled extension from source, which does not fit a
  writer that streams a batch at a time; the arithmetic is a few lines of numpy.

Targets come from a first pass over the set (after greyscale and resizing; split figures as they
stand on the ``background`` grey, unmatched), so a set streamed from latents is decoded twice when
it is matched or split. Rounding to 8 bits and clipping to 0..255 move the matched figures
slightly; ``stimuli.csv`` records each written image's own figures: ``mean_luminance`` and
``rms_contrast`` of the whole frame and, when figures are split, ``figure_luminance`` and
``figure_rms_contrast`` of the figure inside the aperture. Along a figure-matched set the figure's
columns stay constant; the whole frame's also move with the figure's area, which a morph changes
(little when the grey is near the figures' mean).
"""

import math
import os
import warnings

import numpy as np
from PIL import Image

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import InputError
from gaia_stim.io.images import array_sha256, luminance

__all__ = ["MATCHES", "MASKS", "FIGURES", "FIGURE_THRESHOLD", "PLAIN_BORDER_SHARE", "SMALLEST_PART", "OUTLINE_DEPTH",
           "Adjustment", "FigureWarning", "mask_alpha", "border_figure", "figure_layers"]

MATCHES = ("luminance", "histogram")
MASKS = ("circle", "oval", "raised-cosine")
FIGURES = ("auto", "whole")  # or the path of a figure mask image
MAX_SIZE = 4096
FIGURE_THRESHOLD = 6 / 255
"""A pixel further than this from the border's grey, on any channel, belongs to the figure (0..1 units)."""
PLAIN_BORDER_SHARE = 0.5
"""The share of border pixels within FIGURE_THRESHOLD of their median for a border to count as plain."""
SMALLEST_PART = 0.001
"""Parts of the figure smaller than this share of the image are specks of the background."""


class FigureWarning(UserWarning):
    """The set's figures could not be told from their backgrounds; the whole aperture was matched."""


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


def border_figure(image):
    """The figure of one image on a plain ground, found from its border (see the module docstring).

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        Pixel values in 0..255.

    Returns
    -------
    figure : ndarray of shape (H, W), bool
        True on the figure, False on the background.
    plain : bool
        Whether the border is plain (at least PLAIN_BORDER_SHARE of it within FIGURE_THRESHOLD of its median).
    """
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float64)
    ring = np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])  # (n_border, C)
    grey = np.median(ring, axis=0)
    threshold = FIGURE_THRESHOLD * 255
    plain = bool(np.mean(np.abs(ring - grey).max(axis=-1) <= threshold) >= PLAIN_BORDER_SHARE)
    near = np.abs(image - grey).max(axis=-1) <= threshold  # (H, W)
    labels, _ = ndimage.label(near)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    figure = ~np.isin(labels, edge[edge > 0])
    parts, n_parts = ndimage.label(figure)
    if n_parts:
        sizes = np.bincount(parts.ravel())
        specks = sizes < SMALLEST_PART * figure.size
        specks[0] = False
        figure &= ~specks[parts]
    return figure, plain


OUTLINE_DEPTH = 2
"""How deep (pixels of the image as given, before --size) a figure's soft outline is taken to be."""


def figure_layers(image, figure, depth=OUTLINE_DEPTH):
    """The figure of one image as coverage and colour: what it would look like on another ground.

    Inside its outline (``depth`` pixels deep) a figure pixel is all figure. A pixel of
    the outline is taken as a blend of the figure (the nearest pixel inside the outline) and the
    ground (the median of the background pixels): its coverage is ``a = (x - ground) / (inside -
    ground)`` in luminance, clipped to 0..1, and its own colour is the inside pixel's (or its own
    where ``a`` reaches 1). A pixel beyond the ground (the ringing of a blurred edge) has ``a = 0``.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        Pixel values in 0..255.
    figure : ndarray of shape (H, W), bool
    depth : int, default=OUTLINE_DEPTH

    Returns
    -------
    coverage : ndarray of shape (H, W)
        0 on the background, 1 inside the outline.
    colour : ndarray of shape (H, W, C)
        The figure's own colour (the image's pixels where ``coverage`` is 1).
    """
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float64)
    coverage, colour = figure.astype(np.float64), image.copy()
    if figure.all() or not figure.any():
        return coverage, colour
    inside = ndimage.binary_erosion(figure, iterations=depth, border_value=1)
    if not inside.any():  # a figure thinner than its outline: all of it counts as figure
        return coverage, colour
    _, (rows, columns) = ndimage.distance_transform_edt(~inside, return_indices=True)
    grey = luminance(image)  # (H, W)
    ground = np.median(grey[~figure])
    nearest = grey[rows, columns]
    span = nearest - ground
    outline = figure & ~inside
    share = np.ones_like(grey)
    usable = outline & (np.abs(span) > FIGURE_THRESHOLD * 255)  # an inside pixel like the ground tells nothing
    share[usable] = np.clip((grey[usable] - ground) / span[usable], 0, 1)
    coverage[outline] = share[outline]
    blended = outline & (share < 1)
    colour[blended] = image[rows, columns][blended]
    return coverage, colour


def _runs(mask):
    """A bool array as the lengths of its alternating runs (row-major), the first run False."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    return ([0] if flat[0] else []) + [int(run) for run in runs]


def _from_runs(runs, shape):
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(shape)


def _figure_mask(figure):
    """``figure`` as (name, sha256, bool mask): a mask image's path, a 2-D array or a manifest's record."""
    if isinstance(figure, dict):
        try:
            mask = _from_runs(figure["runs"], tuple(figure["shape"]))
            return figure["file"], figure["sha256"], mask
        except (KeyError, TypeError, ValueError):
            raise InputError("the manifest's adjust.figure record is damaged; write the set again") from None
    if isinstance(figure, np.ndarray):
        array = figure
        name, sha256 = "array", array_sha256(figure)
        if array.dtype == bool:
            mask = array
        elif array.dtype == np.uint8:
            mask = array >= 128
        else:
            mask = array >= 0.5
    else:
        path = os.fspath(figure)
        try:
            with Image.open(path) as opened:
                mask = np.asarray(opened.convert("L")) >= 128
        except FileNotFoundError:
            raise InputError(f"--figure must be auto, whole or a figure mask image; {path!r} does not exist") from None
        except (OSError, ValueError) as error:
            raise InputError(f"--figure {path!r} cannot be read as an image ({error}); give a PNG whose white"
                             " pixels are the figure") from None
        name, sha256 = os.path.basename(path), file_sha256(path)
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
        raise InputError(f"--figure mask {name!r} must be a square image (as the stimuli are); got shape {mask.shape}")
    if mask.all() or not mask.any():
        raise InputError(f"--figure mask {name!r} is all {'figure' if mask.all() else 'background'}: draw the figure"
                         " in white (128 or more) on black")
    return name, sha256, mask


class Adjustment:
    """Greyscale, final size, figure and background, matching across the set and a mask; see the module docstring.

    Parameters
    ----------
    greyscale : bool, default=False
    size : int, optional
        Final width and height in pixels (8 to 4096).
    match : {"luminance", "histogram"}, optional
    mask : {"circle", "oval", "raised-cosine"}, optional
    background : float, default=0.5
        The grey outside the mask and of every background pixel when figures are split, 0 (black)
        to 1 (white): the window's colour the set is meant for.
    figure : {"auto", "whole"} or path or ndarray, optional
        What is figure: ``"auto"`` (found from each image's plain border), ``"whole"`` (everything
        inside the mask, SHINE's way), or a figure mask (an image file or a square 2-D array, white
        or True on the figure). Default: ``"auto"`` when matching or masking (the ground is then the
        ``background`` grey, as outside the mask), else ``"whole"`` (no split).
    """

    def __init__(self, greyscale=False, size=None, match=None, mask=None, background=0.5, figure=None):
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
        self.figure_file = None  # (name, sha256, bool mask) of a figure mask
        if figure is None:
            # a mask is shown on the window's grey: the ground inside it must be that grey too, or a
            # disc of the source's own ground shows (sets written before record no figure: whole)
            figure = "auto" if match is not None or mask is not None else "whole"
        if isinstance(figure, str) and figure in FIGURES:
            self.figure = figure
        elif isinstance(figure, (str, os.PathLike, np.ndarray, dict)):
            self.figure, self.figure_file = "file", _figure_mask(figure)
        else:
            raise InputError(f"--figure must be auto, whole or a figure mask image; got {figure!r}")
        self.targets = None
        self.background_set = True if self.figure == "file" else None  # auto: decided by fitted()
        self._resized = {}

    @property
    def splits_figure(self):
        """Whether figure and background are told apart (and the table records the figure's columns)."""
        return self.figure != "whole"

    def record(self):
        """The options and fitted targets, for the manifest.

        Sets written before figures existed have no ``figure`` entry, and neither has ``figure="whole"``,
        which writes them the same way.
        """
        record = {"greyscale": self.greyscale, "size": self.size, "match": self.match, "mask": self.mask,
                  "background": self.background}
        if self.figure == "auto":
            record["figure"] = {"method": "auto", "threshold": FIGURE_THRESHOLD, "plain_border_share": PLAIN_BORDER_SHARE,
                                "smallest_part": SMALLEST_PART, "outline_depth": OUTLINE_DEPTH,
                                "background_set": self.background_set}
        elif self.figure == "file":
            name, sha256, mask = self.figure_file
            record["figure"] = {"method": "file", "file": name, "sha256": sha256, "shape": list(mask.shape),
                                "runs": _runs(mask), "outline_depth": OUTLINE_DEPTH, "background_set": True}
        record["targets"] = self.targets
        return record

    def ground(self):
        """``(level, covers)``: the grey (0..1, as written in 8 bits) this fitted adjustment gives the ground.

        ``covers`` says which pixels have it: ``"every pixel but the figure"`` when figures are split
        from a plain ground, ``"every pixel outside the mask"`` when only a mask is set (the images'
        own ground shows inside it); ``(None, None)`` when the images keep their own ground.
        """
        level = float(np.round(self.background * 255)) / 255  # what apply writes, np.round's halves included
        if self.splits_figure and self.background_set:
            return level, "every pixel but the figure"
        if self.mask is not None:
            return level, "every pixel outside the mask"
        return None, None

    @classmethod
    def from_record(cls, record):
        """An unfitted Adjustment from :meth:`record`'s dict (None for None)."""
        if record is None:
            return None
        figure = record.get("figure")
        if figure is None:
            figure = "whole"
        elif isinstance(figure, dict) and figure.get("method") == "auto":
            figure = "auto"
        return cls(record["greyscale"], record["size"], record["match"], record["mask"], record["background"], figure)

    def _copy(self):
        copy = Adjustment(self.greyscale, self.size, self.match, self.mask, self.background, "whole")
        copy.figure, copy.figure_file = self.figure, self.figure_file
        copy.background_set, copy._resized = self.background_set, self._resized
        return copy

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

    def _depth(self, given_side):
        """The outline's depth in the final images: OUTLINE_DEPTH pixels of the given ones, resized with them."""
        side = self.size if self.size is not None else given_side
        return max(OUTLINE_DEPTH, round(OUTLINE_DEPTH * side / given_side))

    def _inside(self, side):
        alpha = mask_alpha(self.mask, side) if self.mask else np.ones((side, side))
        return alpha >= 0.5

    def _figure_of(self, image):
        """(figure (H, W) bool, plain border) of one shaped image."""
        if self.figure == "auto":
            return border_figure(image)
        side = image.shape[0]
        if side not in self._resized:
            name, _, mask = self.figure_file
            if mask.shape[0] == side:
                self._resized[side] = mask
            else:
                pil = Image.fromarray(mask.astype(np.uint8) * 255).resize((side, side), Image.Resampling.BILINEAR)
                self._resized[side] = np.asarray(pil) >= 128
        return self._resized[side], True

    def fitted(self, batches):
        """This adjustment with the set's targets measured over ``batches`` (uint8 or float in [0, 1]).

        With ``figure="auto"`` it also decides whether the set's figures can be split from their
        backgrounds (every image on a plain border, with a figure inside the aperture); if not, the
        whole aperture is matched and a :class:`FigureWarning` says why. The targets of split figures
        are those of the figures as they stand on the ``background`` grey, unmatched.
        """
        if self.match is None and self.figure != "auto":
            return self
        from gaia_stim.io.images import to_uint8

        # the statistics of the figures and of the whole apertures, both: which are used is known at the end
        statistics = {"figure": ([], [], np.zeros(256)), "whole": ([], [], np.zeros(256))}
        n_images, unplain, empty = 0, [], []
        grey = self.background * 255
        for batch in batches:
            given = to_uint8(batch)
            images, depth = self._shape(given), self._depth(given.shape[1])
            if self.match is not None and images.shape[-1] != 1:
                raise InputError("--match works on grey images (as SHINE does): add --greyscale")
            inside = self._inside(images.shape[1])
            for image in images:
                if self.figure == "whole":
                    figure, plain = inside, True
                else:
                    figure, plain = self._figure_of(image)
                region = figure & inside
                if not plain:
                    unplain.append(n_images)
                elif not region.any():
                    empty.append(n_images)
                n_images += 1
                if self.match is None:
                    continue
                shown = {"whole": image[..., 0]}
                if self.figure != "whole" and region.any():
                    coverage, colour = figure_layers(image, figure, depth)
                    shown["figure"] = coverage * colour[..., 0] + (1 - coverage) * grey
                for key, where in (("figure", region), ("whole", inside)):
                    if key not in shown:
                        continue
                    values = shown[key][where]
                    means, deviations, histogram = statistics[key]
                    means.append(values.mean())
                    deviations.append(values.std())
                    histogram += np.bincount(np.clip(np.round(values), 0, 255).astype(int), minlength=256)
        fitted = self._copy()
        if self.figure == "file" and empty:
            raise InputError(f"--figure mask {self.figure_file[0]!r} has no figure pixel inside the --mask {self.mask}:"
                             " draw the figure where the mask shows it")
        if self.figure == "auto":
            fitted.background_set = not unplain and not empty
            if unplain or empty:
                why = (f"{len(unplain)} of {n_images} images have no plain background (fewer than"
                       f" {PLAIN_BORDER_SHARE:.0%} of their border pixels within 6/255 of the border's grey; the first is"
                       f" image {unplain[0]}, counting from 0)" if unplain else f"no figure was found in {len(empty)} of"
                       f" {n_images} images (the first is image {empty[0]}, counting from 0)")
                where = " inside the mask" if self.mask else ""
                if self.match is None:
                    warnings.warn(f"--figure auto: {why}: each image keeps its own ground{where}, which may show on"
                                  f" the window's grey ({self.background:g}); give --figure FILE (a mask image, white"
                                  " on the figure) to set the ground to --background", FigureWarning, stacklevel=2)
                else:
                    warnings.warn(f"--figure auto: {why}: the whole of each image{where} is matched, background"
                                  " included, as SHINE does; give --figure FILE (a mask image, white on the figure)"
                                  " to match the figure alone", FigureWarning, stacklevel=2)
        if self.match is None:
            return fitted
        means, deviations, histogram = statistics["figure" if fitted.background_set else "whole"]
        if self.match == "luminance":
            fitted.targets = {"mean_luminance": float(np.mean(means)) / 255, "rms_contrast": float(np.mean(deviations)) / 255}
        else:
            fitted.targets = {"histogram": [int(count) for count in histogram]}
        return fitted

    def apply(self, pixels):
        """uint8 (B, H, W, C) -> the adjusted uint8 images."""
        return self.apply_with_figures(pixels)[0]

    def apply_with_figures(self, pixels):
        """uint8 (B, H, W, C) -> (the adjusted uint8 images, the figures inside the aperture).

        The figures are (B, H, W) bool, the pixels that were matched and whose statistics the table
        records; None when figures are not split (``figure="whole"``). Unfitted and not matching
        (a preview), ``figure="auto"`` is fitted to ``pixels`` alone.
        """
        if self.figure == "auto" and self.background_set is None and self.match is None:
            return self.fitted([pixels]).apply_with_figures(pixels)
        images, depth = self._shape(pixels), self._depth(pixels.shape[1])
        side = images.shape[1]
        inside = self._inside(side)
        if self.figure == "auto" and self.background_set is None:
            raise ValueError("fit the adjustment to the set first (Adjustment.fitted): it decides whether the set's"
                             " figures can be split")
        if self.match is not None and self.targets is None:
            raise ValueError("fit the adjustment to the set first (Adjustment.fitted)")
        split = self.splits_figure and self.background_set
        grey = self.background * 255
        figures = np.zeros(images.shape[:3], dtype=bool) if split else None  # (B, H, W)
        for index, image in enumerate(images):
            if split:
                figures[index] = figure = self._figure_of(image)[0]
                coverage, colour = figure_layers(image, figure, depth)
                if self.match is None:
                    image[...] = coverage[..., None] * colour + (1 - coverage[..., None]) * grey
                else:
                    image[..., 0] = self._match_figure(colour[..., 0], coverage, figure, figure & inside)
            elif self.match is not None:
                values = image[..., 0][inside]
                if self.match == "luminance":
                    deviation = values.std()
                    scale = self.targets["rms_contrast"] * 255 / deviation if deviation > 0 else 0.0
                    image[..., 0][inside] = (values - values.mean()) * scale + self.targets["mean_luminance"] * 255
                else:
                    image[..., 0][inside] = _specify_histogram(values, np.asarray(self.targets["histogram"], dtype=np.float64))
        if self.mask is not None:
            alpha = mask_alpha(self.mask, side)[None, :, :, None]
            images = alpha * images + (1 - alpha) * grey
        written = np.clip(np.round(images), 0, 255).astype(np.uint8)
        if split:
            # the background grey exactly, as outside the mask: nothing but the figure shows on that window
            written[~figures] = np.uint8(np.round(grey))
            return written, figures & inside
        if self.splits_figure:  # no plain background in the set: the whole aperture is the figure
            return written, np.broadcast_to(inside, written.shape[:3])
        return written, None

    def _match_figure(self, colour, coverage, figure, region):
        """One grey image's figure matched over ``region`` and set on the background grey: (H, W) in 0..255.

        The figure is drawn as ``coverage * matched colour + (1 - coverage) * grey``, and the match
        holds for what is drawn: for ``luminance`` the gain and offset are solved so that the drawn
        region has the target mean and RMS contrast exactly (outline pixels included); for
        ``histogram`` the drawn values are given the target histogram rank for rank.
        """
        grey = self.background * 255
        drawn = np.full(colour.shape, grey)
        if not region.any():
            return drawn
        if self.match == "luminance":
            # drawn = gain * (coverage * colour) + offset * coverage + (1 - coverage) * grey; solve gain, offset
            ink, share, rest = coverage * colour, coverage, (1 - coverage) * grey
            mean_ink, mean_share, mean_rest = ink[region].mean(), share[region].mean(), rest[region].mean()
            if mean_share <= 0:  # only the ringing of an outline: nothing of the figure to draw
                return drawn
            target_mean, target_sd = self.targets["mean_luminance"] * 255, self.targets["rms_contrast"] * 255
            varying = ink - mean_ink / mean_share * share  # drawn = gain * varying + fixed
            fixed = (target_mean - mean_rest) / mean_share * share + rest
            u, t = varying[region] - varying[region].mean(), fixed[region] - fixed[region].mean()
            a, b, c = np.mean(u * u), np.mean(u * t), np.mean(t * t) - target_sd ** 2
            if a <= 0:
                gain = 0.0  # a flat figure has no contrast to scale
            else:
                # the larger root; where the outline alone holds more contrast than the target, the least contrast
                gain = max(0.0, (-b + math.sqrt(b * b - a * c)) / a if b * b >= a * c else -b / a)
            drawn[figure] = (gain * varying + fixed)[figure]
        else:
            histogram = np.asarray(self.targets["histogram"], dtype=np.float64)
            # the figure's own colours get the target histogram, then are drawn with their coverage, then the
            # drawn values get it again rank for rank (outline pixels keep their place between figure and grey)
            specified = _specify_histogram(colour[region], histogram)
            own = np.interp(colour, np.sort(colour[region]), np.sort(specified))  # outside the mask: the same map
            own[region] = specified
            drawn[figure] = (coverage * own + (1 - coverage) * grey)[figure]
            drawn[region] = _specify_histogram(drawn[region], histogram)
        return drawn


def _specify_histogram(values, histogram):
    """``values`` given the quantiles of ``histogram`` (256 counts), rank for rank."""
    order = np.argsort(values, kind="stable")
    quantiles = (np.arange(len(values)) + 0.5) / len(values)
    cumulative = np.cumsum(histogram) / histogram.sum()
    result = np.empty_like(values)
    result[order] = np.searchsorted(cumulative, quantiles, side="left").astype(np.float64)
    return result
