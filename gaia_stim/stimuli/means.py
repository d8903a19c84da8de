"""The average of several images: the decoded mean of their latent codes."""

from gaia_stim.io.results import StimulusResult
from gaia_stim.stimuli._common import decode, encode_sources, prepare_sources

__all__ = ["mean_image", "from_parameters"]


def mean_image(model, images):
    """The image of the mean code of ``images`` (two or more paths or arrays).

    Returns
    -------
    StimulusResult
        Of kind ``"mean"``: ``images`` : ndarray of shape (1, S, S, C); ``latents`` : (1,
        latent_dim); and what else :func:`gaia_stim.io.sets.write_set` writes.
    """
    sources = prepare_sources(model, images, 2, "a mean image")
    codes = encode_sources(model, sources)
    latents, decoded = decode(model, codes.mean(axis=0, keepdims=True))
    return StimulusResult(
        kind="mean",
        images=decoded,
        latents=latents,
        rows=[{"n_sources": len(sources)}],
        file_names=["mean.png"],
        labels=[f"mean of {len(sources)}"],
        caption="mean code",
        parameters={"sources": [source["source"] for source in sources], "seed": None},
        sources=sources,
    )


def from_parameters(model, sources, parameters):
    """Rebuild a mean image from the set's copies of its sources."""
    return mean_image(model, sources)
