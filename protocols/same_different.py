"""Same-different: two images one after the other; were they the same image?

The two images are shown for --duration each, --isi apart; the participant presses S for "same"
and D for "different" (--keys, --swap-keys and --counterbalance choose other mappings). Keys count
from the second image's onset, so an answer given while it is still shown counts (and ends it).
Data columns ``said_different`` (1 = "different") and ``correct`` (both empty after a timeout).
Key roles in the instructions: {key_same}, {key_different}.

    gaia-stim trials --stimuli SET --design same-different --separation 3 --reps 20 --seed 1 --out trials.csv
    python protocols/same_different.py trials.csv --participant P01 --practice 8 --counterbalance
"""

import sys

import _protocol

DESIGN = "same-different"  # the name in the trial lists' design column
KEYS = ("s", "d")  # same, different (before the mapping is swapped)
KEY_ROLES = ("key_same", "key_different")
SWAPPABLE = True
IMAGE_DURATION = 0.75
SHOWN = ("1", "2")  # onset_1, offset_1, onset_2, offset_2
ANSWER_FROM = "2"
IMAGES = (("image_1", "morph_1"), ("image_2", "morph_2"))
ENDPOINT_LABELS = None
EASE = "largest separation of the pair"


def ease(trial):
    return trial["pair_separation"]


def run_trial(display, trial, args, observer):
    key_same, key_different = args.keys
    display.show([display.image(trial["image_1"])], args.duration)
    display.blank(args.isi)
    display.show([display.image(trial["image_2"])], args.duration)
    display.show([], 0)
    if observer is not None:
        different = observer.answer(
            lambda: observer.label_is_b(trial["morph_1"]) != observer.label_is_b(trial["morph_2"])
        )
        key, rt = (key_different if different else key_same), None
    else:
        key, rt = display.response([], args.response_timeout)
    answer = None if key is None else "different" if key == key_different else "same"
    return {"response": key, "rt": rt, "key_same": key_same, "key_different": key_different,
            "said_different": None if answer is None else int(answer == "different"),
            "correct": None if answer is None else int(answer == trial["correct_answer"])}


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
