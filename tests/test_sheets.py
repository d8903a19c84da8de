"""Contact sheets (gaia_stim/io/sheets.py): a set too large for one sheet is shown by a subsample.

The squaring stand-in (conftest.py) keeps this fast. The sheets of ordinary sets (their rows, and
each source as given and through the model) are checked in test_sets.py, with the sets they belong to.
"""

import os

import pytest
from PIL import Image

from conftest import SquaringModel, noise
from gaia_stim.io.sets import write_set
from gaia_stim.stimuli import grid


@pytest.fixture
def model():
    return SquaringModel()


def test_large_grid_sheet_is_subsampled(tmp_path, model):
    result = grid(model, [noise(1), noise(2), noise(3)], n_rows=30, n_columns=25)
    write_set(tmp_path / "set", result, model)
    sheet = Image.open(tmp_path / "set" / "contact_sheet.png")
    assert len(os.listdir(tmp_path / "set" / "images")) == 750
    assert sheet.width < 22 * 110 and sheet.height < 22 * 140
