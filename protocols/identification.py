"""Identification (categorisation along a continuum, method of constant stimuli).

One image per trial (until the answer, or --duration seconds); the participant presses LEFT if it
looks like endpoint A (morph level 0) and RIGHT if it looks like endpoint B (--keys, --swap-keys
and --counterbalance choose other mappings). Keys count from the image's onset. Data columns
``chose_b`` (1 = B; empty after a timeout) and ``correct`` (for feedback: 1 when the answer names
the nearer endpoint, empty at morph level 0.5). Key roles in the instructions: {key_a}, {key_b}.
The start screen shows the two end images of the list, labelled with their keys.

    gaia-stim trials --stimuli SET --design identification --reps 20 --seed 1 --out trials.csv
    python protocols/identification.py trials.csv --participant P01 --practice 6 --break-every 110
"""

import sys

import _protocol

DESIGN = "identification"  # the name in the trial lists' design column
KEYS = ("left", "right")  # endpoint A, endpoint B (before the mapping is swapped)
KEY_ROLES = ("key_a", "key_b")  # their names in the instructions and the data
SWAPPABLE = True
IMAGE_DURATION = 0.0  # default --duration: until the answer
SHOWN = ("image",)  # data columns onset_image, offset_image
ANSWER_FROM = "image"  # keys count from the image's onset
IMAGES = (("image_file", "morph_level"),)
ENDPOINT_LABELS = ("A: {key_a}", "B: {key_b}")
EASE = "farthest from morph level 0.5"


def ease(trial):
    return abs(trial.get("morph_level", 0.5) - 0.5)  # a grid's trials (u, v levels) are all equally easy


def run_trial(display, trial, args, observer):
    key_a, key_b = args.keys
    stim = display.image(trial["image_file"])
    display.show([stim], args.duration)
    if observer is not None:
        is_b = observer.answer(lambda: observer.label_is_b(trial["morph_level"]))
        key, rt = (key_b if is_b else key_a), None
    else:
        key, rt = display.response([stim] if args.duration == 0 else [], args.response_timeout)
    chose_b = None if key is None else int(key == key_b)
    level = trial.get("morph_level")  # a grid's trials carry u and v instead: no right answer
    correct = None if chose_b is None or level is None or level == 0.5 else int(chose_b == (level > 0.5))
    return {"response": key, "rt": rt, "key_a": key_a, "key_b": key_b, "chose_b": chose_b, "correct": correct}


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
