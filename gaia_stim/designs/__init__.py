"""Trial designs for experiments along a continuum, written as PsychoPy conditions files.

:func:`design_trials` builds the rows (a pure function of the stimuli and a random generator);
:func:`write_trials` reads a stimulus set and writes the trial CSV and its sidecar JSON.
"""

from gaia_stim.designs.orders import DESIGNS, design_trials
from gaia_stim.designs.trial_files import make_trials, read_continuum, sidecar_path, write_trials

__all__ = ["DESIGNS", "design_trials", "make_trials", "read_continuum", "sidecar_path", "write_trials"]
