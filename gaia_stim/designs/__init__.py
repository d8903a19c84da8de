"""Trial designs for experiments over a stimulus set, written as PsychoPy conditions files.

:data:`DESIGNS` holds one :class:`Design` record per design (its conditions, data columns,
observer model, plot labels and protocol script); :func:`design_trials` builds the rows (a pure
function of the stimuli and a random generator); :func:`write_trials` reads a stimulus set (any set
with a numeric level column: :func:`read_stimuli`) and writes the trial CSV and its sidecar JSON.
"""

from gaia_stim.designs.orders import design_trials, image_counts
from gaia_stim.designs.records import DESIGNS, SIGMOIDS, Design, get_design, label_probability
from gaia_stim.designs.trial_files import make_trials, read_continuum, read_stimuli, sidecar_path, write_trials

__all__ = [
    "DESIGNS", "SIGMOIDS", "Design", "design_trials", "get_design", "image_counts", "label_probability",
    "make_trials", "read_continuum", "read_stimuli", "sidecar_path", "write_trials",
]
