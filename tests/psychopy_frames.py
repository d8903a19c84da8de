"""Draw images in a real PsychoPy window and save what was drawn (run under xvfb-run by the tests).

    python tests/psychopy_frames.py OUT_DIR IMAGE.png [IMAGE.png ...] [--live-model default --live-from A --live-to B]

For every IMAGE, the protocols' own ``image_stim`` draws the file and then its pixels as an array
converted by ``gaia_stim.stimuli.live.to_imagestim``; for ``--live-model`` the arrays of
``gaia_stim.stimuli.live.LiveMorph`` at levels 0.25 and 0.75 are drawn and, beside them, the same images
in file orientation are saved (``live_*_expected.png``). Each drawing is read back from the back
buffer with ``win.getMovieFrame(buffer='back')`` and saved as ``*_frame.png``; ``frames.json``
lists, per case, the expected image and the screen box where it should be.
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "protocols"))

WINDOW = 512
HEIGHT_UNITS = 0.5  # the image is drawn 0.5 window heights high: 256 pixels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("images", nargs="*")
    parser.add_argument("--live-model")
    parser.add_argument("--live-from")
    parser.add_argument("--live-to")
    args = parser.parse_args()

    from psychopy import visual

    import _display

    os.makedirs(args.out_dir, exist_ok=True)
    win = visual.Window(size=(WINDOW, WINDOW), units="height", color=(0, 0, 0), checkTiming=False)
    cases = []

    def capture(stim, name, expected):
        # Height units: one unit is the window height, centred; the box is (left, top, right, bottom).
        width, height = (int(round(v * WINDOW)) for v in stim.size)
        box = [(WINDOW - width) // 2, (WINDOW - height) // 2, (WINDOW + width) // 2, (WINDOW + height) // 2]
        stim.draw()
        frame = win.getMovieFrame(buffer="back")
        win.movieFrames = []
        win.flip()
        frame_path = os.path.join(args.out_dir, name + "_frame.png")
        frame.save(frame_path)
        cases.append({"name": name, "frame": frame_path, "expected": expected, "box": box})

    from gaia_stim.stimuli.live import to_imagestim

    for index, path in enumerate(args.images):
        stim = _display.image_stim(win, os.path.abspath(path), HEIGHT_UNITS)
        capture(stim, f"file_{index}", os.path.abspath(path))
        # The same pixels as an array, through live generation's conversion.
        with Image.open(path) as opened:
            pixels = np.asarray(opened, dtype=np.float32) / 255.0
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        stim = _display.image_stim(win, to_imagestim(pixels), HEIGHT_UNITS)
        capture(stim, f"array_{index}", os.path.abspath(path))

    if args.live_model:
        import gaia_stim
        from gaia_stim.stimuli.live import LiveMorph

        morph = LiveMorph(gaia_stim.load_model(args.live_model), args.live_from, args.live_to)
        for level in (0.25, 0.75):
            name = f"live_{level:.2f}"
            expected = os.path.join(args.out_dir, name + "_expected.png")
            pixels = np.round(morph.images([level])[0] * 255).astype(np.uint8)
            Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(expected)
            capture(_display.image_stim(win, morph.array(level), HEIGHT_UNITS), name, expected)

    win.close()
    with open(os.path.join(args.out_dir, "frames.json"), "w") as handle:
        json.dump(cases, handle, indent=1)


if __name__ == "__main__":
    main()
