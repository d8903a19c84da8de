"""What the tests share: small generated image sets, and the one set of stand-in models.

Nothing is downloaded. The stand-ins replace a loaded GAIA model (``gaia_stim.load_model``: a
``StimulusModel`` with ``encode``, ``decode``, ``image_size``, ``channels``, ``latent_dim`` and the
identity its sets record) wherever a test needs answers it can compute by hand, or needs speed:

``LinearModel``
    code = 2 x - 1 of the pixels x: an invertible affine map, so a morph's images are exactly the
    pixel cross-fade of its ends. For the plumbing of continua and of written sets.
``BlurringModel``
    a ``LinearModel`` that reconstructs every image as its mean colour: a model that keeps nothing of
    a source, for the warnings and contact sheets that show what the model made of the sources.
``SquaringModel``
    code = 2 sqrt(x) - 1, decoded by squaring: equal steps of the code are *unequal* steps of the
    image, as with a real model. For equal spacing, grids, wheels and every kind of set.
``LossyModel``
    images are the codes, and encoding keeps only a share of each: a model whose round trip
    shrinks what attribute axes move, for their calibration.
``RenderingModel``
    codes are synthetic-face parameters and decoding renders them: a perfect model of the face
    family, for the benchmark scripts' measurements with known answers.

``hand_made_axes`` gives fitted-looking attribute axes written out by hand; ``load_protocol`` loads a
PsychoPy protocol script as a module without running its session. Test files import these
as ``from conftest import ...`` (pytest puts ``tests/`` on ``sys.path`` for this file, so that is the
module pytest itself loaded); the fixtures below need no import.
"""

import hashlib
import importlib.util
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image


def blob_images(n, size=32, seed=0):
    """Coloured discs on a grey ground: a tiny data set with real structure to learn."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for index in range(n):
        cx, cy = rng.uniform(0.3, 0.7, 2) * size
        radius = rng.uniform(0.15, 0.3) * size
        colour = rng.uniform(0, 1, 3)
        coverage = np.clip(radius - np.hypot(xx - cx, yy - cy) + 0.5, 0, 1)[..., None]
        pixels = 0.8 * (1 - coverage) + colour * coverage
        images[index] = np.round(pixels * 255).astype(np.uint8)
    return images


@pytest.fixture(scope="session")
def blobs():
    return blob_images(32, size=32, seed=0)


@pytest.fixture
def blob_folder(tmp_path, blobs):
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    for index, image in enumerate(blobs):
        where = folder / "nested" if index % 2 else folder
        Image.fromarray(image).save(where / f"blob_{index:02d}.png")
    return folder


# ------------------------------------------------------------------------------------------
# stand-in models


class LinearModel:
    """code = 2 x - 1 (x the pixels, flattened); decode(z) = (z + 1) / 2, clipped to [0, 1].

    Stands in for a loaded model where a test needs a straight image path: the map is affine and
    invertible, so a morph's images are the pixel cross-fade of its ends and its endpoints are the
    sources themselves. ``encode`` takes floats in [0, 1] or 8-bit pixels (divided by 255), insists
    on the model's image shape (as the real encoder does) and keeps a copy of every batch it is
    given in ``encode_calls``, so a test can count the encoder's calls.

    Parameters
    ----------
    image_size : int, default=8
        Width and height of the images, in pixels.
    channels : int, default=3
        1 (grey) or 3 (RGB).
    name : str, default="default"
        The name sets record for the model, as for the shipped model.
    """

    def __init__(self, image_size=8, channels=3, name="default"):
        self.image_size = image_size
        self.channels = channels
        self.latent_dim = image_size * image_size * channels
        self.name = name
        self.file_sha256 = hashlib.sha256(b"fake model").hexdigest()
        self.preset = "tiny"
        self.version = "0.1.0"
        self.encode_calls = []

    def encode(self, images):
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images / 255.0
        assert images.shape[1:] == (self.image_size, self.image_size, self.channels)
        self.encode_calls.append(images.copy())
        return (2.0 * images - 1.0).reshape(len(images), -1).astype(np.float32)

    def decode(self, z):
        z = np.asarray(z, dtype=np.float32)
        images = (z + 1.0) / 2.0
        return np.clip(images.reshape(-1, self.image_size, self.image_size, self.channels), 0, 1)


class BlurringModel(LinearModel):
    """A ``LinearModel`` that reconstructs every image as its mean colour.

    Stands in for a model that keeps nothing of a source's structure (an untrained or mismatched
    model): what the contact sheet and the commands' reconstruction warnings are there to show.
    """

    def decode(self, z):
        images = super().decode(z)
        return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()


class SquaringModel:
    """code = 2 sqrt(x) - 1 (x the pixels); decode(z) = ((z + 1) / 2) ** 2: a curved image path.

    Stands in for a loaded model wherever the images along a straight line of codes must change
    unevenly, as a real model's do (equal spacing has work to do), while every code is still known
    exactly. It carries the identity a set records (name, file sha256, path, preset, version) and
    prepares its inputs as ``StimulusModel.prepare`` does.

    Parameters
    ----------
    image_size : int, default=16
        Width and height of the images, in pixels.
    channels : int, default=1
        1 (grey) or 3 (RGB).
    """

    def __init__(self, image_size=16, channels=1):
        self.image_size, self.channels = image_size, channels
        self.latent_dim = image_size * image_size * channels
        self.name = "squaring"
        self.file_sha256 = hashlib.sha256(b"squaring").hexdigest()
        self.path = "/nowhere/squaring.pt"
        self.preset, self.version = "tiny", "0.1.0"

    def prepare(self, images):
        """Paths or arrays -> (pixels (N, S, S, C) float32, changes per image), as StimulusModel.prepare."""
        from gaia_stim.core.images import load_image, prepare_image

        if isinstance(images, (str, bytes)) or hasattr(images, "__fspath__"):
            images = [images]
        prepared = [
            load_image(image, self.image_size, self.channels) if isinstance(image, (str, bytes))
            or hasattr(image, "__fspath__") else prepare_image(image, self.image_size, self.channels)
            for image in images
        ]
        return np.stack([item.pixels for item in prepared]), [list(item.changes) for item in prepared]

    def encode(self, images):
        images = np.asarray(images, dtype=np.float64)
        return (2 * np.sqrt(np.clip(images, 0, 1)) - 1).reshape(len(images), -1).astype(np.float32)

    def decode(self, z):
        z = np.asarray(z, dtype=np.float64)
        return np.clip((z + 1) / 2, 0, 1).reshape(-1, self.image_size, self.image_size, self.channels) ** 2


class LossyModel:
    """Images are the codes; encoding keeps ``keep`` of each code and pulls the rest to ``offset``.

    Stands in for a model whose encode(decode(z)) loses part of what an attribute axis moves (a real
    model's reconstructions are never exact): a read-out of the re-encoded images then moves by
    ``keep`` per unit, which is what ``calibrate_axes`` measures and undoes.

    Parameters
    ----------
    keep : float
        The share of each code that survives the round trip, in (0, 1].
    offset : float or ndarray of shape (latent_dim,)
        Where the lost share goes (e.g. the mean code).
    """

    def __init__(self, keep, offset):
        self.keep, self.offset = keep, offset

    def decode(self, z):
        return np.asarray(z, dtype=np.float64)

    def encode(self, images):
        return self.keep * images + (1 - self.keep) * self.offset


class RenderingModel:
    """Codes are synthetic-face parameters and decoding renders them: a perfect model of the faces.

    Stands in for a model trained to perfection on ``gaia_stim.datasets``' faces: every morph is the
    true morph and every attribute axis moves its parameter exactly, leaking into none. Decoding
    clips the codes to the parameters' range [0, 1] and renders them at ``size`` pixels. Encoding
    knows only the faces of ``params`` (looked up by their rendered pixels), so a benchmark that
    encodes must be given the faces it will show; without ``params`` the model only decodes.

    Parameters
    ----------
    params : ndarray of shape (n, len(PARAMETERS)), optional
        The faces the encoder recognises, as parameter rows in [0, 1].
    size : int, default=32
        Width and height of the rendered images, in pixels.
    """

    channels, name, preset, file_sha256, training = 3, "perfect", "fake", "0" * 64, {}

    def __init__(self, params=None, size=32):
        from gaia_stim.datasets import PARAMETERS, render

        self.image_size, self.latent_dim = size, len(PARAMETERS)
        self.lookup = {}
        if params is not None:
            self.lookup = {image.tobytes(): row for image, row in zip(render(params, size), params)}

    def encode(self, images):
        return np.stack([self.lookup[np.asarray(image, dtype=np.float32).tobytes()] for image in images]).astype(np.float32)

    def decode(self, z):
        from gaia_stim.datasets import render

        return render(np.clip(np.asarray(z, dtype=np.float64), 0.0, 1.0), self.image_size)


def hand_made_axes(latent_dim):
    """Fitted-looking AttributeAxes for ``brightness`` and ``contrast``, written out by hand.

    Each direction and each read-out touches one latent element, with power-of-two weights, so what
    they compute is exact on any machine. ``brightness`` moves latent element 0 by 0.5 per unit and
    is read from it (times 2), so its read-out follows the amount one to one; ``contrast`` moves
    element 1 and is read from elements 1 and 0 (0.25 of brightness leaks into it). Inner products
    are Euclidean.
    """
    from gaia_stim.stimuli.axes import AttributeAxes

    axes = AttributeAxes(metric="euclidean")
    axes.attribute_names_ = ["brightness", "contrast"]
    axes.directions_ = np.zeros((2, latent_dim))
    axes.directions_[0, 0], axes.directions_[1, 1] = 0.5, 0.25
    axes.intercept_ = np.zeros(latent_dim)
    axes.r2_ = np.array([0.875, 0.5])
    axes.attribute_scale_ = np.array([0.5, 0.25])
    axes.readout_coef_ = np.zeros((2, latent_dim))
    axes.readout_coef_[0, 0] = 2.0
    axes.readout_coef_[1, 1], axes.readout_coef_[1, 0] = 4.0, 0.5
    axes.readout_intercept_ = np.array([0.5, 0.25])
    axes.metric_matrix_ = np.eye(latent_dim)
    axes.readout_gain_ = np.full(2, np.nan)
    axes.categorical_columns_, axes.dropped_attributes_ = [], []
    axes.n_images_ = 40
    axes.n_features_in_ = latent_dim
    return axes


# ------------------------------------------------------------------------------------------
# small images, measured by the tests themselves, for the squaring stand-in's sets


def flat(value, size=16, channels=1):
    """An image of one grey level, (size, size, channels) float32."""
    return np.full((size, size, channels), value, dtype=np.float32)


def noise(seed, size=16, channels=1):
    """Uniform noise in [0, 1) from ``seed``, (size, size, channels) float32."""
    return np.random.default_rng(seed).random((size, size, channels)).astype(np.float32)


def cv(values):
    """Coefficient of variation (population standard deviation over the mean)."""
    values = np.asarray(values, dtype=np.float64)
    return values.std() / values.mean()


def rms(a, b):
    """RMS pixel difference of each pair of images, (N,) for two (N, S, S, C) stacks."""
    return np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3)))


def write_grey_png(path, array):
    """Save the first channel of ``array`` (floats in [0, 1]) as an 8-bit grey PNG; returns the path."""
    Image.fromarray((array[..., 0] * 255).astype(np.uint8)).save(path)
    return str(path)


def read_set(folder):
    """A written set's table and manifest: (DataFrame, dict)."""
    with open(os.path.join(folder, "manifest.json")) as handle:
        return pd.read_csv(os.path.join(folder, "stimuli.csv")), json.loads(handle.read())


@pytest.fixture
def written(tmp_path):
    """A 4-step continuum set written by the squaring stand-in, from 20 px PNGs ``a.png`` and ``b.png``.

    The sources are larger than the model's 16 px, so the copies as given and as prepared differ.
    """
    from gaia_stim.io.sets import write_set
    from gaia_stim.stimuli import continuum

    model = SquaringModel()
    a = write_grey_png(tmp_path / "a.png", noise(1, size=20))
    b = write_grey_png(tmp_path / "b.png", noise(2, size=20))
    write_set(tmp_path / "set", continuum(model, a, b, n_steps=4), model)
    return tmp_path / "set"


@pytest.fixture
def squaring_commands(monkeypatch, tmp_path):
    """The commands load the squaring stand-in and run in ``tmp_path``, which holds ``0.png`` to ``3.png``."""
    import gaia_stim

    model = SquaringModel()
    monkeypatch.setattr(gaia_stim, "load_model", lambda name="default", device="cpu": model, raising=False)
    monkeypatch.chdir(tmp_path)
    for i in range(4):
        write_grey_png(tmp_path / f"{i}.png", noise(i))
    return model


PROTOCOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "protocols")


def load_protocol(script):
    """A protocol script as a module, with the shared ``_protocol`` and ``_instructions`` it imports.

    The script's ``__main__`` block, which opens PsychoPy, does not run. Returns ``(module,
    _protocol, _instructions)``.
    """
    sys.path.insert(0, PROTOCOLS)  # the scripts import their shared modules by name
    try:
        name = os.path.splitext(os.path.basename(script))[0]
        spec = importlib.util.spec_from_file_location(f"protocol_{name}", os.path.join(PROTOCOLS, script))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        import _instructions
        import _protocol
    finally:
        sys.path.remove(PROTOCOLS)
    return module, _protocol, _instructions
