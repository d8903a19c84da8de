"""ABX: images A, B, then X; is X the same as A or as B?

A, B and X are shown one after another in the centre (--duration each, --isi between); the
participant presses LEFT for "X is A" and RIGHT for "X is B" (--keys, --swap-keys and
--counterbalance choose other mappings). Keys count from X's onset, so an answer given while X is
still shown counts (and ends X). Data columns ``answer`` (A or B) and ``correct`` (empty after a
timeout). Key roles in the instructions: {key_a}, {key_b}.

    gaia-stim trials --stimuli SET --design abx --separation 4 --reps 20 --seed 1 --out trials.csv
    python protocols/abx.py trials.csv --participant P01 --practice 8 --counterbalance
"""

import sys

import _protocol

DESIGN = "abx"  # the name in the trial lists' design column
KEYS = ("left", "right")  # "X is A", "X is B" (before the mapping is swapped)
KEY_ROLES = ("key_a", "key_b")
SWAPPABLE = True
IMAGE_DURATION = 0.75
SHOWN = ("a", "b", "x")  # onset_a, offset_a, ...
ANSWER_FROM = "x"
IMAGES = (("image_a", "morph_a"), ("image_b", "morph_b"), ("image_x", "morph_x"))
ENDPOINT_LABELS = None
EASE = "largest separation of A and B"


def ease(trial):
    return abs(trial["morph_a"] - trial["morph_b"])


def run_trial(display, trial, args, observer):
    key_a, key_b = args.keys
    for name in ("image_a", "image_b", "image_x"):
        if name != "image_a":
            display.blank(args.isi)
        display.show([display.image(trial[name])], args.duration)
    display.show([], 0)  # clear X before the answer
    if observer is not None:
        def from_labels():  # X is whichever of A and B has X's label
            a_is_b = observer.label_is_b(trial["morph_a"])
            b_is_b = observer.label_is_b(trial["morph_b"])
            x_is_b = observer.label_is_b(trial["morph_x"])
            return observer.decide(a_is_b, b_is_b, x_is_b == a_is_b)

        says_a = observer.answer(from_labels)
        key, rt = (key_a if says_a else key_b), None
    else:
        key, rt = display.response([], args.response_timeout)
    answer = None if key is None else "A" if key == key_a else "B"
    return {"response": key, "rt": rt, "key_a": key_a, "key_b": key_b, "answer": answer,
            "correct": None if answer is None else int(answer == trial["correct_answer"])}


if __name__ == "__main__":
    _protocol.run(sys.modules[__name__])
