"""Same-different: two images one after the other; were they the same image?

The participant presses S for "same" and D for "different" (--swap-keys swaps them). Data
columns ``said_different`` (1 = "different") and ``correct``.

    gaia-stim trials --stimuli SET --design same-different --separation 3 --reps 20 --seed 1 --out trials.csv
    python protocols/same_different.py trials.csv --participant P01
"""

import _protocol

DESIGN = "same-different"  # the name in the trial lists' design column
KEYS = ("s", "d")  # same, different (before --swap-keys)


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
        key, rt = _protocol.wait_for_key(display, args.keys, [])
        if key is None:
            return None
    answer = "different" if key == key_different else "same"
    return {"response": key, "rt": rt, "key_same": key_same, "key_different": key_different,
            "said_different": int(answer == "different"), "correct": int(answer == trial["correct_answer"])}


if __name__ == "__main__":
    _protocol.run(DESIGN, __doc__.splitlines()[0], KEYS, run_trial, image_duration=0.75)
