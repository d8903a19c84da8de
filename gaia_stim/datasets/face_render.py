"""The renderer of the synthetic colour faces: images, smooth in the parameters, from parameter vectors.

What each parameter means is :mod:`gaia_stim.datasets.face_parameters`. The mouth sits 40 % of
the way from the base of the nose to the chin. The face is frontal, left-right symmetric and
centred on a plain light-grey background (sRGB 0.78). A face is painted in layers, back to front
(:data:`_LAYERS`: hair behind the head, neck, ears, head, hair in front, cheeks, eye sockets,
eyes, brows, nose, mouth), each a function of the canvas and the face's geometry (:class:`_Face`).

Rendering works on signed distances: every shape is an implicit function whose distance to
the outline, in pixels (analytic for the ellipses of eyes, lips, nostrils and ears, from
per-pixel slopes for the rest), is turned into a coverage ramp one pixel wide (a box-filter
approximation of area coverage) and composited back to front. Coverage is a continuous
function of the parameters, so a small parameter change gives a small image change; lines
thinner than a pixel are drawn one pixel wide with proportionally lower opacity, so they fade
instead of vanishing at small sizes. Everything is vectorised over the batch in numpy.
"""

import numpy as np

from gaia_stim.core.errors import InputError
from gaia_stim.datasets.face_parameters import _SCALES, PARAMETERS, _check_parameters

__all__ = ["BACKGROUND", "MIN_SIZE", "MAX_SIZE", "render"]

BACKGROUND = 0.78  # sRGB grey of the background, all three channels

MIN_SIZE = 16
MAX_SIZE = 512

# Geometry in image coordinates: x and y run from -1 to 1 across the image, y points down.
_HEAD_CENTRE_Y = -0.02
_HEAD_HALF_HEIGHT = 0.70  # B; the head height H is 2 B
_HAIR_VOLUME = 0.10  # hair above the crown

# Colour ramps: anchor positions and sRGB colours, interpolated piecewise-linearly.
_SKIN = ([0.0, 0.5, 1.0], [(0.98, 0.86, 0.78), (0.84, 0.64, 0.50), (0.45, 0.30, 0.21)])
_HAIR = (
    [0.0, 1 / 3, 2 / 3, 1.0],
    [(0.93, 0.80, 0.52), (0.66, 0.46, 0.26), (0.33, 0.21, 0.13), (0.10, 0.08, 0.07)],
)
_IRIS = (
    [0.0, 1 / 3, 2 / 3, 1.0],
    [(0.33, 0.55, 0.80), (0.42, 0.56, 0.46), (0.50, 0.36, 0.18), (0.22, 0.13, 0.07)],
)
_SCLERA = (0.95, 0.93, 0.90)
_PUPIL = (0.05, 0.04, 0.04)

# Faces per internal chunk are chosen so one chunk holds about this many pixels: the
# intermediate arrays then stay small enough to be cache-friendly.
_CHUNK_PIXELS = 1 << 19


def _index(name):
    return PARAMETERS.index(name)


def _ramp(values, ramp):
    """Piecewise-linear colour ramp: (n,) in [0, 1] -> (n, 3) float32."""
    positions, colours = ramp
    colours = np.asarray(colours)
    return np.stack(
        [np.interp(values, positions, colours[:, channel]) for channel in range(3)], axis=-1
    ).astype(np.float32)


def _slope(field, axis):
    """Per-pixel slope along an axis: the larger of the forward and backward differences.

    Unlike a central difference this stays right at the crease of a V-shaped field, as in the
    middle of a shape only a pixel or two across, so thin shapes keep a one-pixel ramp.
    """
    step = np.abs(np.diff(field, axis=axis))
    slope = np.empty_like(field)
    inner = [slice(None)] * field.ndim
    last = list(inner)
    inner[axis], last[axis] = slice(None, -1), slice(-1, None)
    slope[tuple(inner)] = step  # forward differences
    slope[tuple(last)] = step[tuple(last)]
    inner[axis], last[axis] = slice(1, -1), slice(None, -1)
    np.maximum(slope[tuple(inner)], step[tuple(last)], out=slope[tuple(inner)])  # backward
    return slope


def _coverage(field):
    """Coverage in [0, 1] of the region ``field < 0``, antialiased over one pixel.

    The field is any continuous implicit function sampled on the pixel grid, (n, h, w);
    dividing it by its slope per pixel gives the signed distance to the outline in pixels to
    first order, which is turned into a ramp one pixel wide.
    """
    slope_y = _slope(field, 1)
    slope_x = _slope(field, 2)
    gradient = np.sqrt(slope_x * slope_x + slope_y * slope_y)
    np.maximum(gradient, 1e-12, out=gradient)
    distance = field / gradient
    return np.clip(0.5 - distance, 0.0, 1.0, out=distance)


def _ellipse(u, v, u_x, u_y, v_x, v_y, half_axis, pixel):
    """Coverage of the unit disc ``u**2 + v**2 < 1`` in (possibly warped) scaled coordinates.

    ``u_x`` ... ``v_y`` are the partial derivatives of ``u`` and ``v`` with respect to the
    image coordinates x and y, and ``half_axis`` the shorter half-axis of the shape. The
    distance to the outline is estimated analytically as ``(r - 1) / |grad r|``, which is
    exact across the narrow axis; inside, it is limited by ``(1 - r) * half_axis``, which the
    true distance of an unwarped ellipse never falls below, so a shape thinner than a pixel
    does not flare up where the estimate switches to the long axis near its centre line.
    Differences between neighbouring pixels would go wrong for shapes only a pixel thick.
    """
    radius = np.sqrt(u * u + v * v)
    gradient_x = u * u_x + v * v_x  # radius times d(radius)/dx
    gradient_y = u * u_y + v * v_y
    slope = np.sqrt(gradient_x * gradient_x + gradient_y * gradient_y)
    slope /= np.maximum(radius, 1e-12)
    np.maximum(slope, 1e-12, out=slope)
    distance = (radius - 1.0) / slope
    np.maximum(distance, (radius - 1.0) * half_axis, out=distance)
    distance /= pixel
    return np.clip(0.5 - distance, 0.0, 1.0, out=distance)


def _soft(radius_squared, opacity):
    """A soft blob: opacity at the centre, falling smoothly to 0 at ``radius_squared == 1``."""
    falloff = np.clip(1.0 - radius_squared, 0.0, 1.0)
    return opacity * falloff * falloff


def _line_width(half_width, pixel):
    """Half-width and opacity of a line drawn at least one pixel wide, conserving its ink."""
    minimum = 0.5 * pixel
    drawn = np.maximum(half_width, minimum)
    return drawn, half_width / drawn


class _Canvas:
    """A batch of images being painted, in image coordinates from -1 to 1."""

    def __init__(self, n_faces, size):
        self.size = size
        self.pixel = np.float32(2.0 / size)
        # Pixel centres, exactly mirror-symmetric about 0.
        self.coordinates = ((2.0 * np.arange(size) + 1.0 - size) / size).astype(np.float32)
        # planar (channel, face, row, column): painting touches one contiguous plane at a time
        self.planes = np.full((3, n_faces, size, size), BACKGROUND, dtype=np.float32)

    def _span(self, low, high):
        first = int(np.floor((low + 1.0) / 2.0 * self.size)) - 2
        last = int(np.ceil((high + 1.0) / 2.0 * self.size)) + 2
        first, last = max(first, 0), min(last, self.size)
        return slice(first, max(last, first + 3))

    def window(self, x_low, x_high, y_low, y_high):
        """Slices of a region and its coordinates X (1, 1, w) and Y (1, h, 1)."""
        columns = self._span(x_low, x_high)
        if x_low == -x_high:  # keep symmetric regions symmetric on the pixel grid
            columns = slice(columns.start, self.size - columns.start)
        rows = self._span(y_low, y_high)
        x = self.coordinates[columns][None, None, :]
        y = self.coordinates[rows][None, :, None]
        return (rows, columns), x, y

    def paint(self, region, alpha, colour, shade=None):
        """Composite a colour over a region with coverage ``alpha`` (n, h, w).

        ``colour`` is (n, 3) or (3,); ``shade`` (broadcastable to (n, h, w)) multiplies it.
        """
        rows, columns = region
        colour = np.asarray(colour, dtype=np.float32)
        for channel in range(3):
            value = colour[..., channel]
            value = value[:, None, None] if value.ndim == 1 else value
            if shade is not None:
                value = value * shade
            target = self.planes[channel, :, rows, columns]  # a view, updated in place
            target += alpha * (value - target)

    def images(self):
        """(n, size, size, 3) float32 in [0, 1]."""
        np.clip(self.planes, 0.0, 1.0, out=self.planes)
        return np.moveaxis(self.planes, 0, -1)


class _Face:
    """The geometry and colours of a batch of faces: lengths (n, 1, 1) in image coordinates, colours (n, 3).

    Every layer painter reads what it needs from here, so a measurement is defined once.
    """

    def __init__(self, params):
        self.params = params  # (n, P) validated
        self.centre_y = np.float32(_HEAD_CENTRE_Y)
        self.half_height = np.float32(_HEAD_HALF_HEIGHT)
        self.head_height = 2 * self.half_height
        self.half_width = self.half_height * self.scaled("head_width")  # (n, 1, 1)
        # the lower face is widened by 1 + jaw * t**2, t running from head centre (0) to chin (1)
        self.jaw = (self.scaled("jaw_width") - 1.0) / np.float32(0.8**2)

        self.skin = _ramp(params[:, _index("skin_tone")], _SKIN)  # (n, 3)
        self.hair = _ramp(params[:, _index("hair_darkness")], _HAIR)
        self.iris = _ramp(params[:, _index("iris_colour")], _IRIS)

        self.eye_y = self.centre_y + self.head_height * self.scaled("eye_height")
        self.eye_x = self.half_width * self.scaled("eye_spacing")
        self.eye_half_width = self.half_width * self.scaled("eye_size")
        self.eye_half_height = 0.5 * self.eye_half_width
        self.nose_y = self.centre_y + self.head_height * self.scaled("nose_length")
        # nostril wings reach out to 0.82 of this half-width
        self.nose_half_width = self.half_width * self.scaled("nose_width") / np.float32(0.82)
        self.chin_y = self.centre_y + self.half_height
        self.mouth_y = self.nose_y + 0.4 * (self.chin_y - self.nose_y)
        self.mouth_half_width = self.half_width * self.scaled("mouth_width")
        self.mouth_lift = 2.0 * self.scaled("mouth_curvature")  # corner lift over half the mouth width

    def column(self, name):
        """The parameter as given, (n, 1, 1) float32."""
        return self.params[:, _index(name)].astype(np.float32)[:, None, None]

    def scaled(self, name):
        """The parameter in its physical unit (see _SCALES), (n, 1, 1)."""
        low, high = _SCALES[name][:2]
        return np.float32(low) + np.float32(high - low) * self.column(name)

    def lerp(self, name, low, high):
        """The parameter mapped linearly from 0 -> ``low`` to 1 -> ``high``, (n, 1, 1)."""
        return np.float32(low) + np.float32(high - low) * self.column(name)

    def sheen(self, x, y):
        """Hair brightness: a soft highlight over the crown."""
        return 1.0 + 0.12 * _soft(
            (x / (0.8 * self.half_width)) ** 2 + ((y - (self.centre_y - self.half_height)) / 0.35) ** 2, 1.0
        )


def _paint_hair_behind(canvas, face):
    """Hair behind the head: round over the crown, boxy below the head centre."""
    centre_y, half_height, head_height, half_width = face.centre_y, face.half_height, face.head_height, face.half_width
    hair, column, scaled, sheen = face.hair, face.column, face.scaled, face.sheen
    hair_bottom = centre_y + head_height * scaled("hair_length")
    hair_half_width = half_width + 0.035 + 0.10 * column("hair_length")
    region, x, y = canvas.window(-1.0, 1.0, -1.0, 1.0)
    across = (x / hair_half_width) ** 2
    below = y - centre_y
    # radii of degree one, so the two halves meet without a step at the head centre line
    upper = np.sqrt(across + (below / (half_height + _HAIR_VOLUME)) ** 2)
    down = (below / (hair_bottom - centre_y)) ** 2
    lower = np.sqrt(np.sqrt(across * across + down * down))
    hair_field = np.where(below < 0, upper, lower) - 1.0
    canvas.paint(region, _coverage(hair_field), hair, shade=sheen(x, y))


def _paint_neck(canvas, face):
    """Neck, shadowed under the chin."""
    centre_y, half_height, half_width, skin = face.centre_y, face.half_height, face.half_width, face.skin
    chin_y = face.chin_y
    neck_top = centre_y + 0.3 * half_height
    region, x, y = canvas.window(-0.5, 0.5, float(neck_top) - 0.05, 1.0)
    neck_half_width = 0.42 * half_width + 0.10 * np.clip(y - chin_y, 0.0, None)
    neck_field = np.maximum(np.abs(x) - neck_half_width, neck_top - y)
    shade = 0.80 + 0.10 * np.clip((y - chin_y) / 0.3, 0.0, 1.0)
    canvas.paint(region, _coverage(neck_field), skin, shade=shade)


def _paint_ears(canvas, face):
    """Ears."""
    half_width, skin, eye_y = face.half_width, face.skin, face.eye_y
    pixel = canvas.pixel
    region, x, y = canvas.window(-0.75, 0.75, -0.35, 0.3)
    ear_y = eye_y + 0.06
    ear = _ellipse(
        (np.abs(x) - half_width) / 0.085,
        (y - ear_y) / 0.15,
        1 / 0.085,
        0,
        0,
        1 / 0.15,
        0.085,
        pixel,
    )
    canvas.paint(region, ear, skin * np.float32(0.93))


def _paint_head(canvas, face):
    """Head, darker towards the outline."""
    centre_y, half_height, half_width, jaw = face.centre_y, face.half_height, face.half_width, face.jaw
    skin = face.skin
    region, x, y = canvas.window(-0.72, 0.72, -0.76, 0.72)
    below = (y - centre_y) / half_height
    t = np.clip(below, 0.0, 1.0)
    across = x / (half_width * (1.0 + jaw * t * t))
    radius_squared = across * across + below * below
    head_field = np.sqrt(radius_squared) - 1.0
    edge = np.clip(radius_squared, 0.0, 1.0)
    shade = 1.0 - 0.12 * edge * edge * edge
    canvas.paint(region, _coverage(head_field), skin, shade=shade)


def _paint_hair_in_front(canvas, face):
    """Hair in front: inside a slightly enlarged head, above the hairline."""
    centre_y, half_height, head_height, half_width = face.centre_y, face.half_height, face.head_height, face.half_width
    hair, scaled, lerp, sheen = face.hair, face.scaled, face.lerp, face.sheen
    region, x, y = canvas.window(-0.72, 0.72, -0.80, 0.15)
    below = (y - centre_y) / (half_height + 0.03)
    across = x / (half_width + 0.03)
    front_head = across * across + below * below - 1.0
    hairline_middle = centre_y - head_height * scaled("hairline_height")
    hairline_side = centre_y - head_height * lerp("hairline_height", 0.0, 0.10)
    side = (x / half_width) ** 2
    hairline = hairline_middle + (hairline_side - hairline_middle) * np.minimum(side * side, 1.0)
    # scale the hairline term so both fields measure distance alike
    front_field = np.maximum(front_head, (y - hairline) * 2.5)
    canvas.paint(region, _coverage(front_field), hair, shade=sheen(x, y))


def _paint_cheeks(canvas, face):
    """Cheeks: a faint warm flush."""
    half_width, skin, nose_y = face.half_width, face.skin, face.nose_y
    region, x, y = canvas.window(-0.6, 0.6, -0.2, 0.6)
    flush = _soft(
        ((np.abs(x) - 0.58 * half_width) / (0.26 * half_width)) ** 2
        + ((y - nose_y + 0.02) / 0.12) ** 2,
        0.12,
    )
    canvas.paint(region, flush, skin * np.asarray((1.0, 0.80, 0.80), dtype=np.float32))


def _paint_eye_sockets(canvas, face):
    """Eye sockets: soft shadows under the brows."""
    skin, eye_y, eye_x, eye_half_width = face.skin, face.eye_y, face.eye_x, face.eye_half_width
    eye_half_height = face.eye_half_height
    region, x, y = canvas.window(-0.6, 0.6, -0.45, 0.3)
    socket = _soft(
        ((np.abs(x) - eye_x) / (1.7 * eye_half_width)) ** 2
        + ((y - eye_y + 0.3 * eye_half_height) / (3.2 * eye_half_height)) ** 2,
        0.22,
    )
    canvas.paint(region, socket, skin * np.float32(0.72))


def _paint_eyes(canvas, face):
    """Eyes: lid outline, white, iris, pupil, catch-light."""
    hair, iris, eye_y, eye_x = face.hair, face.iris, face.eye_y, face.eye_x
    eye_half_width, eye_half_height = face.eye_half_width, face.eye_half_height
    pixel = canvas.pixel
    region, x, y = canvas.window(-0.55, 0.55, -0.3, 0.25)
    dx = np.abs(x) - eye_x
    dy = y - eye_y
    lid_thickness, lid_ink = _line_width(0.22 * eye_half_height, pixel)
    lid_width = eye_half_width + 0.6 * lid_thickness
    lid_height = eye_half_height + 1.6 * lid_thickness
    lid = _ellipse(
        dx / lid_width,
        (dy + 0.6 * lid_thickness) / lid_height,
        1 / lid_width,
        0,
        0,
        1 / lid_height,
        np.minimum(lid_width, lid_height),
        pixel,
    )
    canvas.paint(region, lid * lid_ink, hair * np.float32(0.35))
    white = _ellipse(
        dx / eye_half_width,
        dy / eye_half_height,
        1 / eye_half_width,
        0,
        0,
        1 / eye_half_height,
        eye_half_height,
        pixel,
    )
    canvas.paint(region, white, _SCLERA)
    distance = np.sqrt(dx * dx + dy * dy)
    iris_radius = 0.95 * eye_half_height
    iris_cover = np.clip(0.5 - (distance - iris_radius) / pixel, 0.0, 1.0) * white
    canvas.paint(region, iris_cover, iris)
    pupil_cover = np.clip(0.5 - (distance - 0.45 * iris_radius) / pixel, 0.0, 1.0) * white
    canvas.paint(region, pupil_cover, _PUPIL)
    glint = _soft(
        (dx * dx + (dy + 0.45 * iris_radius) ** 2)
        / (0.25 * iris_radius + 0.6 * pixel) ** 2,
        0.8,
    )
    canvas.paint(region, glint * white, (1.0, 1.0, 1.0))


def _paint_brows(canvas, face):
    """Brows: arched bars, tapering outwards."""
    head_height, hair, eye_y, eye_x = face.head_height, face.hair, face.eye_y, face.eye_x
    eye_half_width, scaled = face.eye_half_width, face.scaled
    pixel = canvas.pixel
    region, x, y = canvas.window(-0.55, 0.55, -0.45, 0.05)
    brow_x = 1.02 * eye_x
    brow_y = eye_y - head_height * scaled("brow_height")
    brow_half_width = 1.25 * eye_half_width + 0.01
    along = (np.abs(x) - brow_x) / brow_half_width  # -1 inner end, +1 outer end
    brow_half_thickness, brow_ink = _line_width(
        0.5 * head_height * scaled("brow_thickness"), pixel
    )
    arch = 0.025 * (1.0 - along * along)
    thickness = brow_half_thickness * (1.0 - 0.3 * np.clip(along, 0.0, 1.0))
    brow_field = np.maximum(
        np.abs(y - brow_y + arch) - thickness, (np.abs(along) - 1.0) * brow_half_width
    )
    brow_colour = 0.55 * hair + 0.45 * hair * hair  # brows a little darker than the hair
    canvas.paint(region, _coverage(brow_field) * brow_ink, brow_colour)


def _paint_nose(canvas, face):
    """Nose: side shadows, shadow under the tip, nostrils, highlight."""
    skin, eye_y, nose_y, nose_half_width = face.skin, face.eye_y, face.nose_y, face.nose_half_width
    pixel = canvas.pixel
    region, x, y = canvas.window(-0.25, 0.25, -0.15, 0.5)
    length = nose_y - eye_y
    sides = _soft(
        ((np.abs(x) - 0.55 * nose_half_width) / (0.35 * nose_half_width)) ** 2
        + ((y - eye_y - 0.6 * length) / (0.45 * length)) ** 2,
        0.28,
    )
    canvas.paint(region, sides, skin * np.float32(0.75))
    under = _soft((x / (1.1 * nose_half_width)) ** 2 + ((y - nose_y - 0.015) / 0.035) ** 2, 0.35)
    canvas.paint(region, under, skin * np.float32(0.72))
    tip = _soft((x / (0.6 * nose_half_width)) ** 2 + ((y - nose_y + 0.045) / 0.06) ** 2, 0.35)
    canvas.paint(region, tip, np.minimum(skin * np.float32(1.08), 1.0))
    nostril_width = 0.32 * nose_half_width
    nostril = _ellipse(
        (np.abs(x) - 0.5 * nose_half_width) / nostril_width,
        (y - nose_y) / 0.016,
        1 / nostril_width,
        0,
        0,
        1 / 0.016,
        np.minimum(nostril_width, 0.016),
        pixel,
    )
    canvas.paint(region, nostril * 0.8, skin * np.float32(0.45))


def _paint_mouth(canvas, face):
    """Mouth: lips around a curved mouth line."""
    skin, mouth_y, mouth_half_width, mouth_lift = face.skin, face.mouth_y, face.mouth_half_width, face.mouth_lift
    pixel = canvas.pixel
    region, x, y = canvas.window(-0.35, 0.35, 0.15, 0.68)
    relative = x / mouth_half_width
    # the mouth line is a parabola through the corners; beyond them it stops bending
    bend = np.minimum(relative * relative, 1.0)
    bend_x = np.where(np.abs(relative) < 1.0, 2 * relative, 0.0)  # d(bend)/d(relative)
    curve = y - mouth_y + mouth_lift * mouth_half_width * bend
    lip_half_height = np.where(curve < 0, 0.030, 0.042).astype(np.float32)
    lips = _ellipse(
        relative,
        curve / lip_half_height,
        1 / mouth_half_width,
        0,
        mouth_lift * bend_x / lip_half_height,  # d(curve)/dx over the lip height
        1 / lip_half_height,
        lip_half_height,
        pixel,
    )
    lip_colour = skin * np.asarray((0.85, 0.52, 0.52), dtype=np.float32)
    canvas.paint(region, lips, lip_colour)
    line_half_width, line_ink = _line_width(np.float32(0.006), pixel)
    line_field = np.maximum(
        np.abs(curve) - line_half_width, (np.abs(relative) - 0.97) * mouth_half_width
    )
    canvas.paint(region, _coverage(line_field) * line_ink, skin * np.float32(0.35))


# Back to front: each layer is composited over the ones before it.
_LAYERS = (
    _paint_hair_behind, _paint_neck, _paint_ears, _paint_head, _paint_hair_in_front, _paint_cheeks,
    _paint_eye_sockets, _paint_eyes, _paint_brows, _paint_nose, _paint_mouth,
)


def _render_chunk(params, size):
    """Render (n, P) validated parameters -> (n, size, size, 3) float32."""
    canvas = _Canvas(params.shape[0], size)
    face = _Face(params)
    for paint in _LAYERS:
        paint(canvas, face)
    return canvas.images()


def _check_size(size):
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
        raise InputError(f"size must be a whole number of pixels; got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise InputError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels; got {size}")
    return int(size)


def _chunk_length(size):
    return max(1, _CHUNK_PIXELS // (size * size))


def render(params, size=64):
    """Render faces from parameter vectors.

    Parameters
    ----------
    params : array-like of shape (P,) or (N, P)
        Parameters in [0, 1], columns in the order of :data:`PARAMETERS` (P of them).
    size : int, default=64
        Width and height of the images in pixels, 16 to 512.

    Returns
    -------
    ndarray of shape (N, size, size, 3)
        float32 sRGB images in [0, 1] (N is 1 for a single vector).

    Raises
    ------
    InputError
        If ``params`` has the wrong shape, holds a non-finite value or a value outside
        [0, 1] (the message names the parameter), or ``size`` is not a whole number in
        [16, 512].

    Examples
    --------
    >>> from gaia_stim.datasets import AVERAGE_FACE
    >>> render(AVERAGE_FACE, size=32).shape
    (1, 32, 32, 3)
    """
    size = _check_size(size)
    params = _check_parameters(params)
    images = np.empty((params.shape[0], size, size, 3), dtype=np.float32)
    step = _chunk_length(size)
    for start in range(0, params.shape[0], step):
        images[start : start + step] = _render_chunk(params[start : start + step], size)
    return images
