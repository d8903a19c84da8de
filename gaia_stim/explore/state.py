"""The explore session: a model, the images it may read, and what the page asks of them.

The page describes what it shows as a *spec*, a small JSON object::

    {"kind": "continuum",                       # continuum | grid | wheel | attribute
     "sources": ["images/a.png", "uploads/b_1f2e3d4c5b6a.png"],
     "params": {"n_steps": 11, "spacing": "equal", "metric": "pixel", "level_range": [0, 1]},
     "adjust": {"greyscale": false, "size": null, "match": null, "mask": null, "background": 0.5}}

``params`` are the arguments of the kind's own function (:func:`gaia_stim.stimuli.continuum`,
``grid``, ``wheel``, or an attribute series), so the set an export writes is the set the same
command line writes. Live frames use the same arithmetic at one position:

* the sources are encoded together, as the kind encodes them (a batch of one gives codes that
  differ in the last bits from a batch of two), and cached;
* the latent of a frame is the kind's own expression at that position (a continuum's polyline,
  a grid's plane or corners, a wheel's circle, a code moved along attribute axes);
* one latent is decoded (``torch.inference_mode``, one thread) and passed through the same
  :class:`~gaia_stim.stimuli.lowlevel.Adjustment` the writer applies, then encoded as PNG.

The kind's result (the steps an export writes) is computed with the thread count an export and
the shown command line use (:attr:`ExploreSession.export_threads`), so the preview, the export
and the command give the same bytes. A frame decoded on one thread may differ from the set's
image at the same position by one 8-bit level in a pixel or two (float rounding of another
thread count and batch size).

The session is not thread-safe: the server runs every call that touches the model on one worker
thread, one at a time.
"""

import base64
import contextlib
import io
import json
import logging
import math
import numbers
import os
import shlex
import time
from collections import OrderedDict

import numpy as np
from PIL import Image

from gaia_stim.core.errors import InputError
from gaia_stim.core.limits import CORRECTIONS, MAX_CORRECTIONS
from gaia_stim.explore.files import (
    PathRefused, image_in_folder, list_images, output_folder, relative_parts, save_upload,
)

__all__ = ["KINDS", "ExploreSession", "parse_spec", "png_bytes"]

logger = logging.getLogger(__name__)

KINDS = ("continuum", "grid", "wheel", "attribute")
# Images the page may ask one view's set to have (the commands take more; the page stays responsive).
MAX_STEPS = 1000
MAX_SIDE = 50
MAX_WHEEL = 360
# Thumbnails of a set's images sent with its preview; a larger set is summarised without them.
MAX_PREVIEW_IMAGES = 200
# Views and results kept (each holds a few codes, or one set's images).
_CACHE_VIEWS = 32
_CACHE_RESULTS = 4
_IMAGE_FOLDERS = ("images", "uploads")


# --------------------------------------------------------------------------------------------
# specs


def _whole(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}; got {value!r}")
    return int(value)


def _number(value, name, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InputError(f"{name} must be a finite number; got {value!r}")
    if positive and not value > 0:
        raise InputError(f"{name} must be above 0; got {value!r}")
    return float(value)


def _pair(value, name):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{name} must be two numbers [LOW, HIGH]; got {value!r}")
    low, high = (_number(item, name) for item in value)
    if not low < high:
        raise InputError(f"{name} must have LOW < HIGH; got {low:g} {high:g}")
    return [low, high]


def _choice(value, name, choices):
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _adjust_options(raw):
    """The low-level options of a spec, checked as the commands check them."""
    from gaia_stim.stimuli.lowlevel import Adjustment

    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise InputError(f"adjust must be an object of low-level options; got {raw!r}")
    unknown = set(raw) - {"greyscale", "size", "match", "mask", "background"}
    if unknown:
        raise InputError(f"adjust has unknown options {sorted(unknown)}; use greyscale, size, match, mask, background")
    options = {
        "greyscale": bool(raw.get("greyscale", False)),
        "size": raw.get("size"),
        "match": raw.get("match") or None,
        "mask": raw.get("mask") or None,
        "background": raw.get("background", 0.5),
    }
    checked = Adjustment(**options)  # the writer's own checks and messages
    options.update(size=checked.size, background=checked.background)
    return options


def parse_spec(raw, axes=None):
    """A spec from the page, checked: every field of the kind, the sources and the low-level options.

    Parameters
    ----------
    raw : dict
        As the page sends it (see the module docstring).
    axes : AttributeAxes, optional
        Needed for ``kind="attribute"`` (the axis names are checked against it).

    Returns
    -------
    dict
        ``kind``, ``sources`` (list of image ids), ``params`` (every parameter the kind takes, with
        its default filled in), ``adjust``.

    Raises
    ------
    InputError
        A field with a value the kind's function would refuse; the message names the field.
    """
    from gaia_stim.core.spacings import IMAGE_SPACINGS
    from gaia_stim.metrics import METRICS
    from gaia_stim.stimuli._common import check_range

    if not isinstance(raw, dict):
        raise InputError(f"a view must be a JSON object with kind, sources, params; got {type(raw).__name__}")
    kind = _choice(raw.get("kind"), "kind", KINDS)
    sources = raw.get("sources")
    counts = {"continuum": (2,), "grid": (3, 4), "wheel": (3,), "attribute": (1,)}[kind]
    if not isinstance(sources, list) or len(sources) not in counts or not all(isinstance(s, str) for s in sources):
        wanted = " or ".join(map(str, counts))
        raise InputError(f"a {kind} needs {wanted} source images; pick them from the folder or upload them")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise InputError(f"params must be an object; got {params!r}")
    checked = {}
    if kind != "attribute":
        checked["spacing"] = _choice(params.get("spacing", "linear"), "spacing", IMAGE_SPACINGS)
        checked["metric"] = _choice(params.get("metric", "pixel"), "metric", METRICS)
    if kind == "continuum":
        checked["n_steps"] = _whole(params.get("n_steps", 11), "steps", 2, MAX_STEPS)
        checked["level_range"] = list(check_range(_pair(params.get("level_range", [0.0, 1.0]), "range")))
    elif kind == "grid":
        checked["n_rows"] = _whole(params.get("n_rows", 5), "rows", 2, MAX_SIDE)
        checked["n_columns"] = _whole(params.get("n_columns", 5), "columns", 2, MAX_SIDE)
        checked["u_range"] = list(check_range(_pair(params.get("u_range", [0.0, 1.0]), "u range"), "u range"))
        checked["v_range"] = list(check_range(_pair(params.get("v_range", [0.0, 1.0]), "v range"), "v range"))
    elif kind == "wheel":
        checked["n_images"] = _whole(params.get("n_images", 24), "images around the wheel", 3, MAX_WHEEL)
        radius = params.get("radius")
        checked["radius"] = None if radius is None else _number(radius, "radius", positive=True)
    else:
        if axes is None:
            raise InputError("attribute views need axes: start gaia-stim explore with --axes AXES.npz")
        checked["axis"] = _choice(params.get("axis"), "axis", axes.attribute_names_)
        others = params.get("orthogonal_to") or []
        if not isinstance(others, list):
            raise InputError(f"orthogonal_to must be a list of axis names; got {others!r}")
        # the axes held fixed (the page's switches): each moved axis is made orthogonal to the others of them
        checked["orthogonal_to"] = list(dict.fromkeys(_choice(name, "orthogonal_to", axes.attribute_names_)
                                                      for name in others))
        checked["amount_range"] = _pair(params.get("amount_range", [-3.0, 3.0]), "amount range")
        checked["n_steps"] = _whole(params.get("n_steps", 7), "steps", 2, MAX_STEPS)
        checked["corrections"] = _whole(params.get("corrections", CORRECTIONS), "corrections", 0, MAX_CORRECTIONS)
    return {"kind": kind, "sources": list(sources), "params": checked, "adjust": _adjust_options(raw.get("adjust"))}


def _key(*parts):
    return json.dumps(parts, sort_keys=True)


# --------------------------------------------------------------------------------------------
# images


def png_bytes(pixels, compress_level=1):
    """(H, W, C) uint8 -> PNG bytes (fast compression: a frame is sent once)."""
    from gaia_stim.io.images import pil_image

    buffer = io.BytesIO()
    pil_image(pixels).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def _data_url(pixels):
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels, compress_level=6)).decode("ascii")


@contextlib.contextmanager
def _threads(count):
    """Torch on ``count`` threads from here on (switched only when it differs; not restored after).

    Frames and the kinds' results alternate rarely, so the thread pool is resized only when the
    page moves from scrubbing to a preview or an export, not around every frame.
    """
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    yield


class _LRU(OrderedDict):
    def __init__(self, size):
        super().__init__()
        self.size = size

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value

    def find(self, key):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None


# --------------------------------------------------------------------------------------------
# the session


class ExploreSession:
    """A loaded model and everything the explore page may read, compute and write.

    Parameters
    ----------
    model : StimulusModel
        The loaded model (or a stand-in with ``encode``, ``decode``, ``image_size``, ``channels``,
        ``name``).
    images_dir : str, optional
        The folder whose images the page lists (``--images``); nothing outside it is read.
    axes : AttributeAxes, optional
        Fitted on this model's codes (``--axes``); enables the attribute view.
    axes_path : str, optional
        The axes file (for the command line of an attribute export).
    out_root : str, default="."
        Exports are written to folders inside it; uploads are kept in ``out_root/explore_uploads``.
    export_threads : int, optional
        Torch threads for the kinds' results and exports, and ``--threads`` of the shown command
        line; default: torch's thread count when the session starts.
    frame_threads : int, default=1
        Torch threads for one live frame.
    """

    UPLOADS = "explore_uploads"

    def __init__(self, model, images_dir=None, axes=None, axes_path=None, out_root=".", export_threads=None,
                 frame_threads=1):
        import torch

        self.model = model
        self.images_dir = os.path.realpath(images_dir) if images_dir is not None else None
        self.axes, self.axes_path = axes, (os.path.abspath(axes_path) if axes_path else None)
        self.out_root = os.path.realpath(out_root)
        if not os.path.isdir(self.out_root):
            raise InputError(f"--out-root {out_root!r} is not a folder; create it or choose another")
        self.uploads_dir = os.path.join(self.out_root, self.UPLOADS)
        self.cwd = os.getcwd()
        self.export_threads = int(export_threads or torch.get_num_threads())
        self.frame_threads = int(frame_threads)
        self._views = _LRU(_CACHE_VIEWS)
        self._results = _LRU(_CACHE_RESULTS)

    # ---------------------------------------------------------------- images

    def image_path(self, image):
        """The real path of an image id (``images/REL`` or ``uploads/NAME``), or PathRefused."""
        if not isinstance(image, str) or "/" not in image:
            raise PathRefused(f"image {image!r} must be 'images/PATH' or 'uploads/NAME'")
        folder, relative = image.split("/", 1)
        relative_parts(relative, "image")  # a malformed or escaping path is refused before any folder is looked at
        if folder == "images" and self.images_dir is not None:
            return image_in_folder(self.images_dir, relative)
        if folder == "uploads":
            if not os.path.isdir(self.uploads_dir):
                raise PathRefused(f"image {image!r}: nothing was uploaded yet", status=404)
            return image_in_folder(self.uploads_dir, relative)
        if folder == "images":
            raise PathRefused("no image folder was given: start gaia-stim explore with --images DIR", status=404)
        raise PathRefused(f"image {image!r} must start with 'images/' or 'uploads/'")

    def list_images(self):
        """The ids of the images the page may pick, and whether the folder holds more than listed."""
        names, truncated = list_images(self.images_dir) if self.images_dir else ([], False)
        uploads = list_images(self.uploads_dir)[0] if os.path.isdir(self.uploads_dir) else []
        return {"images": [f"images/{name}" for name in names], "uploads": [f"uploads/{name}" for name in uploads],
                "truncated": truncated}

    def thumbnail(self, image, size=96):
        """PNG bytes of an image, whole and at most ``size`` pixels on its longer side."""
        from gaia_stim.core.images import display_pixels, load_image

        path = self.image_path(image)
        load_image(path, 8, 3)  # the project's checks (size, damaged files) before anything is drawn
        return png_bytes(np.round(display_pixels(path, size) * 255).astype(np.uint8))

    def upload(self, name, data):
        """Keep an uploaded image (checked by decoding it); returns its image id."""
        stored = save_upload(self.uploads_dir, name, data, self.model.image_size, self.model.channels)
        return f"uploads/{stored}"

    # ---------------------------------------------------------------- views

    def _sources(self, spec):
        """The kind's source records and codes for the spec's images (encoded together, cached)."""
        from gaia_stim.stimuli._common import encode_sources, prepare_sources

        paths = [self.image_path(image) for image in spec["sources"]]
        stamps = [(path, os.stat(path).st_mtime_ns, os.stat(path).st_size) for path in paths]
        key = _key("sources", spec["kind"], stamps)
        cached = self._views.find(key)
        if cached is None:
            sources = prepare_sources(self.model, paths, len(paths), f"a {spec['kind']}")
            with _threads(self.export_threads):  # as the kind encodes them, so frames sit on its path
                codes = encode_sources(self.model, sources)
            cached = self._views.put(key, {"sources": sources, "codes": codes, "paths": paths})
        return cached

    def view(self, spec):
        """What the page needs to show a view: its sources beside their reconstructions, and its geometry.

        Returns
        -------
        dict
            ``sources``: per source its id, name, changes, the prepared image and the model's
            reconstruction (PNG data URLs) and the reconstruction's SSIM; ``wheel_radius`` (the
            default radius, latent units) for a wheel; ``axes`` for an attribute view.
        """
        from gaia_stim.io.images import to_uint8
        from gaia_stim.stimuli._common import FAR_SOURCE_SSIM

        state = self._sources(spec)
        shown = []
        for image, source in zip(spec["sources"], state["sources"]):
            ssim = source.get("reconstruction_ssim")
            shown.append({
                "image": image,
                "name": os.path.basename(source["source"]),
                "changes": list(source["changes"]),
                "prepared": _data_url(to_uint8(source["prepared"][None])[0]),
                "reconstruction": _data_url(to_uint8(source["reconstruction"][None])[0]),
                "ssim": None if ssim is None else round(float(ssim), 4),
                "far": ssim is not None and ssim < FAR_SOURCE_SSIM,
            })
        answer = {"kind": spec["kind"], "sources": shown}
        if spec["kind"] == "wheel":
            answer["wheel_radius"] = self._wheel_basis(state)[2]
        if spec["kind"] == "attribute":
            answer["axes"] = self.axes_info()
        return answer

    def axes_info(self):
        """Names, R^2 and spread of the attribute axes (None without axes)."""
        if self.axes is None:
            return None
        return [{"name": name, "r2": float(r2), "scale": float(scale)}
                for name, r2, scale in zip(self.axes.attribute_names_, self.axes.r2_, self.axes.attribute_scale_)]

    @staticmethod
    def _wheel_basis(state):
        """The wheel's plane and default radius (:func:`gaia_stim.stimuli.wheels.wheel_plane`), kept with the codes."""
        if "wheel" not in state:
            from gaia_stim.stimuli.wheels import wheel_plane

            state["wheel"] = wheel_plane(state["codes"])
        return state["wheel"]

    def _direction(self, name, orthogonal_to):
        others = [other for other in orthogonal_to if other != name]
        return self.axes.direction(name, others or None)

    def latent(self, spec, position):
        """The code at one position of a view, float64 of shape (1, latent_dim).

        ``position``: ``{"level": t}`` (continuum), ``{"u": u, "v": v}`` (grid), ``{"angle": radians,
        "radius": r}`` (wheel; radius optional), ``{"amounts": {axis: amount}}`` (attribute).
        """
        from gaia_stim.stimuli._common import MAX_LEVEL

        state = self._sources(spec)
        codes = state["codes"]
        if not isinstance(position, dict):
            raise InputError(f"position must be an object; got {position!r}")
        kind = spec["kind"]
        if kind == "continuum":
            from gaia_stim.stimuli.continua import latent_path  # the continuum's own polyline

            level = _number(position.get("level"), "level")
            if abs(level) > MAX_LEVEL + 1:
                raise InputError(f"level {level:g} is more than {MAX_LEVEL:g} source distances out; keep the slider"
                                 " within the range")
            return latent_path(codes, np.array([level]))
        if kind == "grid":
            from gaia_stim.stimuli.grids import plane_latents  # the grid's own plane or corners

            u, v = _number(position.get("u"), "u"), _number(position.get("v"), "v")
            if max(abs(u), abs(v)) > MAX_LEVEL:
                raise InputError(f"u {u:g}, v {v:g}: keep the pad within {MAX_LEVEL:g} source distances")
            return plane_latents(codes, [u], [v])
        if kind == "wheel":
            from gaia_stim.stimuli.wheels import wheel_latents  # the wheel's own circle

            e1, e2, default = self._wheel_basis(state)
            angle = _number(position.get("angle"), "angle")
            radius = position.get("radius", spec["params"]["radius"])
            radius = default if radius is None else _number(radius, "radius", positive=True)
            return wheel_latents(codes[0], e1, e2, radius, [angle])
        amounts = position.get("amounts") or {}
        if not isinstance(amounts, dict):
            raise InputError(f"amounts must map axis names to numbers; got {amounts!r}")
        latent = codes[0].astype(np.float64)[None]
        asked = np.zeros((1, len(self.axes.attribute_names_)))
        for name, amount in amounts.items():
            _choice(name, "axis", self.axes.attribute_names_)
            amount = _number(amount, f"amount of {name}")
            if amount:
                latent = latent + amount * self._direction(name, spec["params"]["orthogonal_to"])
                asked[0, self.axes.attribute_names_.index(name)] += amount
        if spec["params"]["corrections"] and asked.any():
            import torch

            from gaia_stim.stimuli.axes import correct_codes

            # steered as 'gaia-stim attribute --corrections' steers each step (one code at a time)
            base = self._source_readout(state)
            with _threads(self.frame_threads), torch.inference_mode():
                latent = correct_codes(self.axes, self.model, codes[0], latent, asked, spec["params"]["corrections"],
                                       base=base)
        return latent

    def _source_readout(self, state):
        """The axes' read-out of the source's reconstruction, once per source: where corrections and the
        live leakage count changes from (as ``correct_codes`` counts them for ``gaia-stim attribute``)."""
        import torch

        from gaia_stim.stimuli.axes import image_readout

        if "readout_base" not in state:
            with _threads(self.frame_threads), torch.inference_mode():
                state["readout_base"] = image_readout(self.axes, self.model, state["codes"][:1])
        return state["readout_base"]

    def _adjustment(self, spec, fit_on=None):
        """The writer's Adjustment for the spec (None when no option is on), fitted if it matches."""
        from gaia_stim.stimuli.lowlevel import Adjustment

        options = spec["adjust"]
        if not (options["greyscale"] or options["size"] or options["match"] or options["mask"]):
            return None  # as the commands decide (cli/_stimuli.py)
        adjust = Adjustment(**options)
        if options["match"] and fit_on is not None:
            adjust = adjust.fitted(fit_on())
        return adjust

    def _frame_adjustment(self, spec):
        """The Adjustment a frame gets: for matching, its targets are the exported set's."""
        if not spec["adjust"]["match"]:
            return self._adjustment(spec)
        key = _key("adjust", spec)
        cached = self._views.find(key)
        if cached is None:
            result = self.result(spec)
            cached = self._views.put(key, self._adjustment(spec, fit_on=lambda: [self._set_images(result)]))
        return cached

    def frame(self, spec, position):
        """One live frame: PNG bytes and what the page shows beside it.

        Returns
        -------
        png : bytes
        info : dict
            ``decode_ms``; for an attribute view ``readout``: per attribute, the change asked and
            the change read out from the frame (re-encoded), both in standard deviations of the
            labels, against the source's own reconstruction.
        """
        import torch

        from gaia_stim.io.images import to_uint8
        from gaia_stim.stimuli._common import decode

        adjust = self._frame_adjustment(spec)
        start = time.perf_counter()  # an attribute frame's corrections decode too, and are counted
        latent = self.latent(spec, position)
        with _threads(self.frame_threads), torch.inference_mode():
            _, images = decode(self.model, latent)
        decode_ms = (time.perf_counter() - start) * 1000
        pixels = to_uint8(images)
        if adjust is not None:
            pixels = adjust.apply(pixels)
        info = {"decode_ms": round(decode_ms, 2)}
        if spec["kind"] == "attribute":
            info["readout"] = self._readout(spec, images, position.get("amounts") or {})
        return png_bytes(pixels[0]), info

    def _readout(self, spec, images, amounts):
        """Per attribute: the change asked and the change read out, in SDs of the labels (the live leakage)."""
        import torch

        state = self._sources(spec)
        base = self._source_readout(state)
        with _threads(self.frame_threads), torch.inference_mode():
            now = self.axes.transform(np.asarray(self.model.encode(images), dtype=np.float64))[0]
        rows = []
        for index, name in enumerate(self.axes.attribute_names_):
            scale = float(self.axes.attribute_scale_[index]) or 1.0
            rows.append({"name": name, "asked": float(amounts.get(name, 0.0)) / scale,
                         "read": float(now[index] - base[index]) / scale})
        return rows

    # ---------------------------------------------------------------- the set an export writes

    def result(self, spec):
        """The kind's own result for the spec (what an export writes), cached; torch on export threads."""
        key = _key("result", spec["kind"], spec["sources"], spec["params"])
        cached = self._results.find(key)
        if cached is not None:
            return cached
        paths = self._sources(spec)["paths"]
        params = spec["params"]
        with _threads(self.export_threads):
            if spec["kind"] == "continuum":
                from gaia_stim.stimuli.continua import continuum

                result = continuum(self.model, *paths, n_steps=params["n_steps"], spacing=params["spacing"],
                                   metric=params["metric"], level_range=params["level_range"])
            elif spec["kind"] == "grid":
                from gaia_stim.stimuli.grids import grid

                result = grid(self.model, paths, params["n_rows"], params["n_columns"], params["spacing"],
                              params["metric"], params["u_range"], params["v_range"])
            elif spec["kind"] == "wheel":
                from gaia_stim.stimuli.wheels import wheel

                result = wheel(self.model, *paths, n_images=params["n_images"], radius=params["radius"],
                               spacing=params["spacing"], metric=params["metric"])
            else:
                result = self._attribute_result(paths[0], params)
        return self._results.put(key, result)

    @staticmethod
    def _others(params):
        """The held axes an attribute series along ``params["axis"]`` is made orthogonal to."""
        return [name for name in params["orthogonal_to"] if name != params["axis"]]

    def _amounts(self, params):
        # as 'gaia-stim attribute' computes them
        return np.linspace(params["amount_range"][0], params["amount_range"][1], params["n_steps"])

    def _attribute_result(self, path, params):
        from gaia_stim.stimuli.attributes import attribute_set

        # as 'gaia-stim attribute' makes it, so the command line writes the same set
        return attribute_set(self.model, self.axes, path, params["axis"], self._amounts(params),
                             orthogonal_to=self._others(params) or None, axes_file=self.axes_path,
                             corrections=params["corrections"])

    def _set_images(self, result):
        """The set's images as the writer gets them: float (N, S, S, C)."""
        from gaia_stim.stimuli._common import decode

        if result.get("images") is not None:
            return np.asarray(result["images"])
        with _threads(self.export_threads):
            return decode(self.model, result["latents"])[1]

    def steps(self, spec):
        """The set an export writes: positions, step distances and thumbnails after low-level control."""
        from gaia_stim.io.images import to_uint8

        result = self.result(spec)
        kind = spec["kind"]
        answer = {"kind": kind}
        if kind == "continuum":
            answer["positions"] = [float(level) for level in result["morph_levels"]]
        elif kind == "grid":
            answer["u"], answer["v"] = [float(x) for x in result["u"]], [float(x) for x in result["v"]]
        elif kind == "wheel":
            answer["positions"] = [float(x) for x in result["angles_deg"]]
            answer["radius"] = float(result["radius"])
        else:
            answer["positions"] = [float(x) for x in result["amounts"]]
            table = result["leakage"]
            answer["leakage"] = [
                {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
                 for key, value in row.items()} for row in table.astype(object).to_dict(orient="records")]
        if "step_distances" in result:
            answer["step_distances"] = [float(x) for x in result["step_distances"]]
            answer["metric"] = spec["params"]["metric"]
            answer["cv"] = float(result["summary"]["step_distance_cv"])
        count = len(result["rows"])
        answer["n_images"] = count
        if count <= MAX_PREVIEW_IMAGES:
            images = self._set_images(result)
            adjust = self._adjustment(spec, fit_on=lambda: [images])
            pixels = to_uint8(images)
            if adjust is not None:
                pixels = adjust.apply(pixels)
            answer["images"] = [_data_url(one) for one in pixels]
        return answer

    # ---------------------------------------------------------------- export

    def export(self, spec, out, force=False):
        """Write the spec's set with the project's one writer into ``out_root/out``; check it.

        Returns
        -------
        dict
            ``path`` (absolute), ``out`` (as given), ``n_images``, ``command`` (the ``gaia-stim``
            command line that writes the same set), ``verify_command``, ``problems`` (of
            :func:`gaia_stim.io.sets.verify_set`; empty when intact).

        Raises
        ------
        PathRefused
            ``out`` leaves the output root.
        OutputExistsError
            ``out`` exists and ``force`` is off, or it holds files gaia-stim did not write.
        """
        from gaia_stim.io.sets import verify_set, write_set

        path = output_folder(self.out_root, out)
        if spec["kind"] == "attribute" and self._adjustment(spec) is not None:
            raise InputError("'gaia-stim attribute' takes no low-level options, so an attribute export cannot"
                             " carry them: switch greyscale, size, match and mask off to export")
        result = self.result(spec)
        with _threads(self.export_threads):
            write_set(path, result, self.model, force=bool(force), adjust=self._adjustment(spec))
        problems = verify_set(path)
        return {"path": path, "out": out, "n_images": len(result["rows"]),
                "command": self.command(spec, path, force),
                "verify_command": shlex.join(["gaia-stim", "--threads", str(self.export_threads), "verify",
                                              "--regenerate", path]),
                "problems": problems}

    def command(self, spec, out_path, force=False):
        """The ``gaia-stim`` command line that writes the same set (same parameters, threads and model name)."""
        params, paths = spec["params"], self._sources(spec)["paths"]
        number = repr  # a float's repr reads back as the same float
        words = ["gaia-stim", "--threads", str(self.export_threads), spec["kind"]]
        if spec["kind"] == "continuum":
            words += ["--from", paths[0], "--to", paths[1], "--steps", str(params["n_steps"]),
                      "--range", *map(number, params["level_range"])]
        elif spec["kind"] == "grid":
            for path in paths:
                words += ["--image", path]
            words += ["--rows", str(params["n_rows"]), "--columns", str(params["n_columns"]),
                      "--u-range", *map(number, params["u_range"]), "--v-range", *map(number, params["v_range"])]
        elif spec["kind"] == "wheel":
            words += ["--centre", paths[0], "--towards", paths[1], paths[2], "--n", str(params["n_images"])]
            if params["radius"] is not None:
                words += ["--radius", number(params["radius"])]
        else:
            words += ["--axes", self.axes_path, "--axis", params["axis"], "--image", paths[0]]
            for other in self._others(params):
                words += ["--orthogonal-to", other]
            words += ["--range", *map(number, params["amount_range"]), "--steps", str(params["n_steps"]),
                      "--corrections", str(params["corrections"])]
        if spec["kind"] != "attribute":
            words += ["--spacing", params["spacing"], "--metric", params["metric"]]
            options = spec["adjust"]
            if options["greyscale"]:
                words.append("--greyscale")
            if options["size"]:
                words += ["--size", str(options["size"])]
            if options["match"]:
                words += ["--match", options["match"]]
            if options["mask"]:
                words += ["--mask", options["mask"]]
            if options["background"] != 0.5:
                words += ["--background", number(options["background"])]
        words += ["--model", str(self.model.name), "--out", os.fspath(out_path)]
        if force:
            words.append("--force")
        line = shlex.join(words)
        name = str(self.model.name)
        if name != "default" and not os.path.isabs(name):
            # the table records the model by the name it was given, so a relative one runs from here
            line = f"cd {shlex.quote(self.cwd)} && {line}"
        return line

    # ---------------------------------------------------------------- the page's start

    def state(self):
        """What the page needs at start: the model, the folders, the axes, the metrics it may use."""
        from gaia_stim.core.spacings import IMAGE_SPACINGS
        from gaia_stim.metrics import METRICS, check_metric
        from gaia_stim.stimuli.lowlevel import MASKS, MATCHES

        metrics = []
        for metric in METRICS:
            try:
                check_metric(metric, self.model, self.model.image_size)
                metrics.append({"name": metric, "available": True})
            except InputError as error:
                metrics.append({"name": metric, "available": False, "why": str(error)})
        return {
            "model": {"name": str(self.model.name), "image_size": int(self.model.image_size),
                      "channels": int(self.model.channels), "latent_dim": int(self.model.latent_dim),
                      "sha256": getattr(self.model, "file_sha256", None)},
            "images_dir": self.images_dir,
            "out_root": self.out_root,
            "axes": self.axes_info(),
            "metrics": metrics,
            "spacings": list(IMAGE_SPACINGS),
            "matches": list(MATCHES),
            "masks": list(MASKS),
            "export_threads": self.export_threads,
            "limits": {"steps": MAX_STEPS, "side": MAX_SIDE, "wheel": MAX_WHEEL},
        }
