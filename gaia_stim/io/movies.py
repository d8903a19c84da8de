"""Morph movies: a set's images, in table order, as an animated GIF (or MP4) through imageio.

GIF frames are written losslessly for grey images and with Pillow's adaptive palette for colour,
at ``FRAME_SECONDS`` a frame, looping; the same frames give the same bytes. MP4 needs the
optional ``imageio-ffmpeg`` (``pip install "gaia-stim[movies]"``).
"""

import os

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = ["MOVIE_FORMATS", "FRAME_SECONDS", "check_movie", "write_movie"]

MOVIE_FORMATS = ("gif", "mp4")
FRAME_SECONDS = 0.1


def check_movie(movie):
    """Refuse an unknown format, or MP4 without imageio-ffmpeg, before anything is written."""
    if movie is None:
        return None
    if movie not in MOVIE_FORMATS:
        raise InputError(f"--movie must be one of {', '.join(MOVIE_FORMATS)}; got {movie!r}")
    if movie == "mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise InputError(
                '--movie mp4 needs imageio-ffmpeg: pip install "gaia-stim[movies]", or use --movie gif'
            ) from None
    return movie


def write_movie(folder, frames, movie):
    """Write uint8 (H, W, C) ``frames`` as ``morph.<movie>`` in ``folder``; returns the file name."""
    import imageio.v3 as iio

    check_movie(movie)
    frames = np.stack(frames)
    if frames.shape[-1] == 1:
        frames = frames[..., 0]
    name = f"morph.{movie}"
    path = os.path.join(folder, name)
    if movie == "gif":
        iio.imwrite(path, frames, extension=".gif", duration=int(FRAME_SECONDS * 1000), loop=0)
    else:
        if frames.ndim == 3:
            frames = np.repeat(frames[..., None], 3, axis=-1)
        iio.imwrite(path, frames, extension=".mp4", fps=round(1 / FRAME_SECONDS), macro_block_size=1)
    return name
