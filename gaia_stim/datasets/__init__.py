"""Data sets of images with known generating parameters.

The synthetic colour faces: their parameters (:mod:`~gaia_stim.datasets.face_parameters`), the
renderer (:mod:`~gaia_stim.datasets.face_render`), face sets in memory and on disk
(:mod:`~gaia_stim.datasets.face_sets`), and an estimator of a face's parameters from its image
(:mod:`~gaia_stim.datasets.face_estimator`, not imported here).
"""

from gaia_stim.datasets.face_parameters import AVERAGE_FACE, PARAMETER_DESCRIPTIONS, PARAMETERS, sample_parameters
from gaia_stim.datasets.face_render import render
from gaia_stim.datasets.face_sets import make_faces, write_faces

__all__ = [
    "PARAMETERS",
    "PARAMETER_DESCRIPTIONS",
    "AVERAGE_FACE",
    "sample_parameters",
    "render",
    "make_faces",
    "write_faces",
]
