"""Data sets of images with known generating parameters."""

from gaia_stim.datasets.faces import (
    AVERAGE_FACE,
    PARAMETER_DESCRIPTIONS,
    PARAMETERS,
    make_faces,
    render,
    sample_parameters,
    write_faces,
)

__all__ = [
    "PARAMETERS",
    "PARAMETER_DESCRIPTIONS",
    "AVERAGE_FACE",
    "sample_parameters",
    "render",
    "make_faces",
    "write_faces",
]
