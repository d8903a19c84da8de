"""gaia-stim: controlled visual stimuli for psychophysics from GAIA models.

>>> import gaia_stim as gs
>>> model = gs.load_model("default")
>>> z = model.encode(["a.png", "b.png"])
>>> images = model.decode(z)

Importing the package is cheap; torch is imported when a model is loaded.
"""

from gaia_stim._version import __version__

__all__ = ["__version__", "load_model", "StimulusModel", "LiveMorph"]


def load_model(name_or_path="default", device="cpu"):
    """Load a trained generator for encoding and decoding (see :class:`gaia_stim.api.StimulusModel`)."""
    from gaia_stim.api import load_model as _load_model

    return _load_model(name_or_path, device=device)


def __getattr__(name):
    if name == "StimulusModel":
        from gaia_stim.api import StimulusModel

        return StimulusModel
    if name == "LiveMorph":
        from gaia_stim.stimuli.live import LiveMorph

        return LiveMorph
    raise AttributeError(f"module 'gaia_stim' has no attribute {name!r}")
