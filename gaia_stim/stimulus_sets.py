"""Stimulus sets: the names earlier versions exported from here, now in :mod:`gaia_stim.io`.

Kept so code written against ``gaia_stim.stimulus_sets`` keeps working; new code imports from
:mod:`gaia_stim.io.sets`, :mod:`gaia_stim.io.tables` and :mod:`gaia_stim.io.images`.
"""

from gaia_stim.io.images import array_sha256
from gaia_stim.io.sets import (
    CONTACT_SHEET_FILE,
    IMAGE_FOLDER,
    MANIFEST_FILE,
    TABLE_FILE,
    write_continuum,
    write_set,
    write_stimulus_set,
)
from gaia_stim.io.tables import looks_like_non_text, psychopy_table_bytes, text_cell
from gaia_stim.core.atomic import file_sha256

__all__ = [
    "TABLE_FILE",
    "MANIFEST_FILE",
    "CONTACT_SHEET_FILE",
    "IMAGE_FOLDER",
    "write_stimulus_set",
    "write_set",
    "write_continuum",
    "file_sha256",
    "array_sha256",
    "text_cell",
    "looks_like_non_text",
    "psychopy_table_bytes",
]
