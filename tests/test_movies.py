"""Movies (gaia_stim/io/movies.py): a set's morph as a GIF, or an MP4 where imageio-ffmpeg is installed.

The squaring stand-in (conftest.py) keeps these fast.
"""

import pytest

from conftest import SquaringModel, flat
from gaia_stim.io.sets import write_set
from gaia_stim.stimuli import continuum
from gaia_stim.stimuli.regenerate import regenerate_set


@pytest.fixture
def model():
    return SquaringModel()


def test_gif_holds_every_step(tmp_path, model):
    import imageio.v3 as iio

    result = continuum(model, flat(0.1), flat(0.9), n_steps=6)
    write_set(tmp_path / "one", result, model, movie="gif")
    write_set(tmp_path / "two", result, model, movie="gif")
    frames = iio.imread(tmp_path / "one" / "morph.gif", index=None)
    assert len(frames) == 6
    assert (tmp_path / "one" / "morph.gif").read_bytes() == (tmp_path / "two" / "morph.gif").read_bytes()


def test_mp4_when_imageio_ffmpeg_is_installed(tmp_path, model):
    pytest.importorskip("imageio_ffmpeg")
    import imageio.v3 as iio

    write_set(tmp_path / "set", continuum(model, flat(0.1), flat(0.9), n_steps=6), model, movie="mp4")
    assert len(iio.imread(tmp_path / "set" / "morph.mp4", index=None)) == 6
    assert regenerate_set(tmp_path / "set", model=model) == []
