"""MLDS triads: three images in a row; which pair differs more, the left pair or the right pair?

Images 1, 2, 3 of a triad stand left to right, the middle image shared by both pairs: the left
pair is the left and middle images (the first pair), the right pair the middle and right images
(the second). The participant presses LEFT or RIGHT (or the two --keys) for the pair whose two
images differ more. Keys count from the images' onset. Data columns ``chosen_pair`` (first or
second) and ``chose_second_pair`` (1 = the right pair; both empty after a timeout), which
``gaia-stim scale`` fits. Key roles in the instructions: {key_left}, {key_right}. See _mlds.py for
the layout and the simulated observer (--sim-scale, --sim-sigma).

    gaia-stim trials --stimuli SET --design mlds-triads --reps 2 --seed 1 --out trials.csv
    python protocols/mlds_triads.py trials.csv --participant P01 --practice 5
    gaia-stim scale data/P01_mlds-triads_*.csv --stimuli SET --out scale
"""

import sys

import _mlds
import _protocol
from _mlds import (ANSWER_FROM, EASE, ENDPOINT_LABELS, IMAGE_DURATION, KEY_ROLES, KEYS, SHOWN, SWAPPABLE,  # noqa: F401
                   add_simulation_options, check_simulation_options, ease, simulated_observer, simulation_info)

DESIGN = "mlds-triads"  # the name in the trial lists' design column
IMAGES = _mlds.image_columns(3)


def run_trial(display, trial, args, observer):
    return _mlds.run_trial(display, trial, args, observer, 3)


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
