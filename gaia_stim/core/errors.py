"""Exceptions raised by gaia-stim for bad input.

Every error a user can cause derives from :class:`GaiaStimError`, so the CLI can
turn it into one clear line and a non-zero exit status. Messages name the
argument, the bad value and, where there is one, the fix.
"""

__all__ = [
    "GaiaStimError", "InputError", "DataError", "ModelFileError", "OutputExistsError", "TrainingDiverged",
    "Terminated",
]


class GaiaStimError(ValueError):
    """Base class of the errors a user's input can cause."""


class InputError(GaiaStimError):
    """An argument has a value that cannot be used."""


class DataError(GaiaStimError):
    """An image or an image folder cannot be read or holds no images."""


class ModelFileError(GaiaStimError):
    """A model or checkpoint file is missing, unreadable or of the wrong kind."""


class OutputExistsError(GaiaStimError):
    """An output path exists and overwriting it was not asked for."""


class TrainingDiverged(GaiaStimError):
    """A loss or gradient became NaN or infinite; the run stopped before applying it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a cluster scheduler sends), raised so that the process unwinds like Ctrl-C."""
