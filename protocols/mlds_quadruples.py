"""MLDS quadruples: two pairs of images; which pair differs more, the left pair or the right pair?

The first pair (images 1 and 2) stands on the left, image 1 above image 2; the second pair (images
3 and 4) on the right, image 3 above image 4. The participant presses LEFT or RIGHT (or the two
--keys) for the pair whose two images differ more. Keys count from the images' onset. Data columns
``chosen_pair`` (first or second) and ``chose_second_pair`` (1 = the right pair; both empty after a
timeout), which ``gaia-stim scale`` fits. Key roles in the instructions: {key_left}, {key_right}.
See _mlds.py for the layout and the simulated observer (--sim-scale, --sim-sigma).

    gaia-stim trials --stimuli SET --design mlds-quadruples --reps 2 --seed 1 --out trials.csv
    python protocols/mlds_quadruples.py trials.csv --participant P01 --practice 5
    gaia-stim scale data/P01_mlds-quadruples_*.csv --stimuli SET --out scale
"""

import sys

import _mlds
import _protocol
from _mlds import (ANSWER_FROM, EASE, ENDPOINT_LABELS, IMAGE_DURATION, KEY_ROLES, KEYS, SHOWN, SWAPPABLE,  # noqa: F401
                   add_simulation_options, check_simulation_options, ease, simulated_observer, simulation_info)

DESIGN = "mlds-quadruples"  # the name in the trial lists' design column
IMAGES = _mlds.image_columns(4)


def run_trial(display, trial, args, observer):
    return _mlds.run_trial(display, trial, args, observer, 4)


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
