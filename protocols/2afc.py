"""Two-alternative forced choice: which of two images is more like endpoint A?

Two images side by side (the trial list balances which side holds the lower morph level); the
participant presses LEFT or RIGHT (or the two --keys) for the image nearer endpoint A. Keys count
from the images' onset. Data column ``correct`` (1 = the image with the lower morph level was
chosen; empty after a timeout). Key roles in the instructions: {key_left}, {key_right}. The start
screen shows the two end images of the list, A on the left.

    gaia-stim trials --stimuli SET --design 2afc --separation 3 --reps 20 --seed 1 --out trials.csv
    python protocols/2afc.py trials.csv --participant P01 --practice 8
"""

import sys

import _protocol

DESIGN = "2afc"  # the name in the trial lists' design column
KEYS = ("left", "right")  # the image on that side
KEY_ROLES = ("key_left", "key_right")
SWAPPABLE = False  # the keys name sides, not answers
IMAGE_DURATION = 0.0
SHOWN = ("images",)  # both images at once: onset_images, offset_images
ANSWER_FROM = "images"
IMAGES = (("image_left", "morph_left"), ("image_right", "morph_right"))
ENDPOINT_LABELS = ("A", "B")
EASE = "largest separation"


def ease(trial):
    return abs(trial["morph_left"] - trial["morph_right"])


def run_trial(display, trial, args, observer):
    key_left, key_right = args.keys
    offset = 0.6 * args.size
    left = display.image(trial["image_left"], pos=(-offset, 0))
    right = display.image(trial["image_right"], pos=(offset, 0))
    display.show([left, right], args.duration)
    if observer is not None:
        def from_labels():  # choose the image labelled A
            left_is_b = observer.label_is_b(trial["morph_left"])
            right_is_b = observer.label_is_b(trial["morph_right"])
            return observer.decide(left_is_b, right_is_b, not left_is_b)

        chose_left = observer.answer(from_labels)
        key, rt = (key_left if chose_left else key_right), None
    else:
        key, rt = display.response([left, right] if args.duration == 0 else [], args.response_timeout)
    side = None if key is None else "left" if key == key_left else "right"
    return {"response": key, "rt": rt, "chosen_side": side,
            "correct": None if side is None else int(side == trial["correct_side"])}


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
