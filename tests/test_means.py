"""Mean images (gaia_stim/stimuli/means.py): the decoded mean of the sources' codes.

The squaring stand-in (conftest.py) keeps these fast.
"""

import numpy as np
import pandas as pd
import pytest

from conftest import SquaringModel, noise, write_grey_png
from gaia_stim.io.sets import verify_set, write_set
from gaia_stim.stimuli import mean_image
from gaia_stim.stimuli.regenerate import regenerate_set


@pytest.fixture
def model():
    return SquaringModel()


def test_mean_image_is_the_decoded_mean_code(model):
    images = [noise(1), noise(2), noise(3)]
    result = mean_image(model, images)
    np.testing.assert_allclose(result["latents"][0], model.encode(np.stack(images)).mean(axis=0), atol=1e-6)


def test_a_mean_of_more_than_26_images_names_every_source(tmp_path, model):
    paths = [write_grey_png(tmp_path / f"{i}.png", noise(i)) for i in range(30)]
    result = mean_image(model, paths)
    roles = [source["role"] for source in result["sources"]]
    assert roles[:2] == ["a", "b"] and roles[25:28] == ["z", "aa", "ab"] and len(set(roles)) == 30
    write_set(tmp_path / "mean", result, model)
    table = pd.read_csv(tmp_path / "mean" / "stimuli.csv")
    assert (tmp_path / "mean" / table["source_ad"][0]).read_bytes() == open(paths[29], "rb").read()
    assert verify_set(tmp_path / "mean") == [] and regenerate_set(tmp_path / "mean", model=model) == []
    from gaia_stim.core.errors import InputError

    with pytest.raises(InputError, match="at most 702 images"):
        mean_image(model, paths * 24)
