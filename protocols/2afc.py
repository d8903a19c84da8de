"""Two-alternative forced choice: which of two images is more like endpoint A?

Two images side by side (the trial list balances which side holds the lower morph level); the
participant presses LEFT or RIGHT for the image nearer endpoint A. Data column ``correct``
(1 = the image with the lower morph level was chosen).

    gaia-stim trials --stimuli SET --design 2afc --separation 3 --reps 20 --seed 1 --out trials.csv
    python protocols/2afc.py trials.csv --participant P01
"""

import _protocol

DESIGN = "2afc"  # the name in the trial lists' design column
KEYS = ("left", "right")  # the image on that side


def run_trial(display, trial, args, observer):
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
        key, rt = ("left" if chose_left else "right"), None
    else:
        key, rt = _protocol.wait_for_key(display, ("left", "right"), [left, right] if args.duration == 0 else [])
        if key is None:
            return None
    return {"response": key, "rt": rt, "correct": int(key == trial["correct_side"])}


if __name__ == "__main__":
    _protocol.run(DESIGN, __doc__.splitlines()[0], KEYS, run_trial, swappable=False)
