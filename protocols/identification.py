"""Identification (categorisation along a continuum, method of constant stimuli).

One image per trial; the participant presses LEFT if it looks like endpoint A (morph level 0)
and RIGHT if it looks like endpoint B (--swap-keys swaps them). Data column ``chose_b`` (1 = B).

    gaia-stim trials --stimuli SET --design identification --reps 20 --seed 1 --out trials.csv
    python protocols/identification.py trials.csv --participant P01
"""

import _protocol

DESIGN = "identification"  # the name in the trial lists' design column
KEYS = ("left", "right")  # endpoint A, endpoint B (before --swap-keys)


def run_trial(display, trial, args, observer):
    key_a, key_b = args.keys
    stim = display.image(trial["image_file"])
    display.show([stim], args.duration)
    if observer is not None:
        is_b = observer.answer(lambda: observer.label_is_b(trial["morph_level"]))
        key, rt = (key_b if is_b else key_a), None
    else:
        key, rt = _protocol.wait_for_key(display, args.keys, [stim] if args.duration == 0 else [])
        if key is None:
            return None
    return {"response": key, "rt": rt, "key_a": key_a, "key_b": key_b, "chose_b": int(key == key_b)}


if __name__ == "__main__":
    _protocol.run(DESIGN, __doc__.splitlines()[0], KEYS, run_trial)
