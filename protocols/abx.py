"""ABX: images A, B, then X; is X the same as A or as B?

A, B and X are shown one after another in the centre (--duration each, --isi between); the
participant presses LEFT for "X is A" and RIGHT for "X is B" (--swap-keys swaps them). Data
column ``correct``.

    gaia-stim trials --stimuli SET --design abx --separation 4 --reps 20 --seed 1 --out trials.csv
    python protocols/abx.py trials.csv --participant P01
"""

import _protocol

DESIGN = "abx"  # the name in the trial lists' design column
KEYS = ("left", "right")  # "X is A", "X is B" (before --swap-keys)


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
        key, rt = _protocol.wait_for_key(display, args.keys, [])
        if key is None:
            return None
    answer = "A" if key == key_a else "B"
    return {"response": key, "rt": rt, "key_a": key_a, "key_b": key_b, "answer": answer,
            "correct": int(answer == trial["correct_answer"])}


if __name__ == "__main__":
    _protocol.run(DESIGN, __doc__.splitlines()[0], KEYS, run_trial, image_duration=0.75)
