"""What the four gaia-stim protocols share: options, window, images, observer, data files.

The protocols (identification.py, 2afc.py, abx.py, same_different.py) need PsychoPy and numpy
only, not gaia-stim. Each reads a trial CSV written by ``gaia-stim trials`` with
``data.importConditions`` and runs it in a ``sequential`` loop, so the order is the one the seed
chose. Image paths in the CSV are relative to the CSV. Data go through PsychoPy's
ExperimentHandler: a wide CSV and a .psydat file per session in ``--data-dir``.

Simulated observer (``--simulate``): every image shown gets a covert label, "B" with probability
F(x) = 1 / (1 + exp(-4 slope (x - pse))) of its morph level x, and the answer follows from the
labels (guessing when they do not decide); with probability ``lapse`` the answer is a coin flip
instead. This is the model ``gaia-stim analyze`` fits (each design's record in
``gaia_stim.designs.records`` states its response probability; tests/test_design_records.py checks
every protocol's observer against it exactly), so a run with a known pse and slope checks the whole
chain. The observer is drawn here, not imported, because the protocols run without gaia-stim.
"""

import argparse
import math
import os
import sys

import numpy as np

ESCAPE = "escape"


def parse_arguments(design, description, keys, swappable=True, image_duration=0.0):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("trials", help="trial CSV written by 'gaia-stim trials --design %s'" % design)
    parser.add_argument("--participant", default="P01", help="participant id (goes into the data file)")
    parser.add_argument("--session", default="001", help="session id (goes into the data file)")
    parser.add_argument("--data-dir", default="data", help="folder for the data files [data]")
    parser.add_argument("--size", type=float, default=0.4, help="image height in height units [0.4]")
    parser.add_argument(
        "--mask", default="none", choices=["none", "circle", "gauss", "raisedCos"],
        help="aperture of the images [none]",
    )
    parser.add_argument("--fixation", type=float, default=0.5, help="fixation cross before each trial, s [0.5]")
    parser.add_argument(
        "--duration", type=float, default=image_duration,
        help="how long each image is shown, s (0: until the answer)",
    )
    parser.add_argument("--isi", type=float, default=0.5, help="blank between sequential images, s [0.5]")
    if swappable:
        parser.add_argument(
            "--swap-keys", action="store_true",
            help="swap the two answer keys (counterbalance the key mapping across participants)",
        )
    parser.add_argument("--window-size", type=int, nargs=2, default=[1024, 768], metavar=("W", "H"))
    parser.add_argument("--fullscreen", action="store_true")
    parser.add_argument("--simulate", action="store_true", help="answer with a simulated observer")
    parser.add_argument("--sim-pse", type=float, default=0.5, help="simulated observer's PSE [0.5]")
    parser.add_argument("--sim-slope", type=float, default=4.0, help="simulated observer's slope dF/dx at the PSE [4]")
    parser.add_argument("--sim-lapse", type=float, default=0.02, help="simulated observer's lapse rate [0.02]")
    parser.add_argument("--sim-seed", type=int, default=0, help="seed of the simulated observer [0]")
    parser.add_argument(
        "--fast", action="store_true",
        help="draw every display for one frame and skip all waits (with --simulate, for tests)",
    )
    args = parser.parse_args()
    if args.fast and not args.simulate:
        parser.error("--fast needs --simulate: a person cannot answer one-frame trials")
    if args.size <= 0:
        parser.error("--size must be positive (height units)")
    if not 0 <= args.sim_lapse <= 1 or args.sim_slope <= 0:
        parser.error("--sim-lapse must be in [0, 1] and --sim-slope positive")
    first, second = keys
    args.keys = (second, first) if getattr(args, "swap_keys", False) else (first, second)
    return args


class SimulatedObserver:
    """Answers from covert labels of the images shown (see the module docstring).

    Every random choice is one call of :meth:`draw` (one uniform number from the seeded generator),
    which is also what lets a test enumerate every way a trial can be answered.
    """

    def __init__(self, pse, slope, lapse, seed):
        self.pse, self.slope, self.lapse = pse, slope, lapse
        self.rng = np.random.default_rng(seed)

    def draw(self, probability):
        """True with ``probability``."""
        return self.rng.random() < probability

    def label_probability(self, level):
        """F(level): the probability of labelling the image endpoint B (logistic, slope dF/dx at the pse)."""
        return 1.0 / (1.0 + math.exp(-4.0 * self.slope * (level - self.pse)))

    def label_is_b(self, level):
        return self.draw(self.label_probability(level))

    def coin(self):
        return self.draw(0.5)

    def answer(self, from_labels):
        """A coin flip with probability ``lapse``, else ``from_labels()`` (which draws the labels)."""
        return self.coin() if self.draw(self.lapse) else from_labels()

    def decide(self, first_is_b, second_is_b, when_they_differ):
        """``when_they_differ`` if two labels differ, else a guess."""
        return when_they_differ if first_is_b != second_is_b else self.coin()


def load_trials(path):
    """The trial list and the folder its image paths are relative to."""
    from psychopy import data

    if not os.path.isfile(path):
        sys.exit("trial file %r does not exist; write one with 'gaia-stim trials'" % path)
    return data.importConditions(path), os.path.dirname(os.path.abspath(path))


def check_design(conditions, design, path):
    found = {str(row.get("design")) for row in conditions}
    if found != {design}:
        sys.exit("%r holds %s trials; this protocol runs %s trials" % (path, ", ".join(sorted(found)), design))


def open_window(args):
    from psychopy import visual

    return visual.Window(
        size=args.window_size, fullscr=args.fullscreen, units="height", color=(0, 0, 0),
        allowGUI=not args.fullscreen, checkTiming=not args.fast,
    )


def image_stim(win, image, size, mask="none", pos=(0, 0)):
    """An ImageStim of a file (or an ImageStim-ready array) ``size`` high, keeping its aspect ratio."""
    from PIL import Image
    from psychopy import visual

    if isinstance(image, str):
        with Image.open(image) as opened:
            width, height = opened.size
    else:
        height, width = np.shape(image)[:2]
    return visual.ImageStim(
        win, image=image, size=(size * width / height, size), pos=pos, units="height",
        mask=None if mask == "none" else mask, interpolate=True,
    )


class Display:
    """Images from the trial list (cached, one ImageStim per file), fixation, and timing."""

    def __init__(self, win, args, folder):
        from psychopy import core, visual

        self.win, self.args, self.folder = win, args, folder
        self.cache = {}
        self.fixation = visual.TextStim(win, text="+", height=0.06, color=(1, 1, 1))
        self.clock = core.Clock()

    def image(self, relative_path, pos=(0, 0)):
        path = os.path.join(self.folder, *str(relative_path).split("/"))
        if path not in self.cache:
            if not os.path.isfile(path):
                sys.exit("image %r of the trial list does not exist (paths are relative to the trial file)" % path)
            self.cache[path] = image_stim(self.win, path, self.args.size, self.args.mask)
        stim = self.cache[path]
        stim.pos = pos
        return stim

    def show(self, stims, seconds):
        """Draw ``stims`` for ``seconds`` (one frame in --fast mode; until the next flip if 0)."""
        from psychopy import core

        for stim in stims:
            stim.draw()
        self.win.flip()
        if seconds > 0 and not self.args.fast:
            timer = core.CountdownTimer(seconds)
            while timer.getTime() > 0:
                for stim in stims:
                    stim.draw()
                self.win.flip()

    def fixate(self):
        if self.args.fixation > 0 and not self.args.fast:
            self.show([self.fixation], self.args.fixation)

    def blank(self, seconds):
        if seconds > 0 and not self.args.fast:
            self.show([], seconds)


def wait_for_key(display, keys, stims):
    """The key pressed (of ``keys``) and its time since onset; escape ends the session."""
    from psychopy import event

    event.clearEvents()
    display.clock.reset()
    while True:
        for stim in stims:
            stim.draw()
        display.win.flip()
        pressed = event.getKeys(keyList=list(keys) + [ESCAPE], timeStamped=display.clock)
        if pressed:
            key, rt = pressed[0]
            return (None, None) if key == ESCAPE else (key, rt)


def start_experiment(args, design, trials_path):
    from psychopy import data

    os.makedirs(args.data_dir, exist_ok=True)
    stem = "%s_%s_%s_%s" % (args.participant, design, args.session, data.getDateStr(format="%Y-%m-%d_%Hh%M.%S.%f"))
    info = {"participant": args.participant, "session": args.session, "trial_file": os.path.basename(trials_path)}
    if args.simulate:
        info.update(sim_pse=args.sim_pse, sim_slope=args.sim_slope, sim_lapse=args.sim_lapse, sim_seed=args.sim_seed)
    experiment = data.ExperimentHandler(
        name="gaia-stim " + design, extraInfo=info, dataFileName=os.path.join(args.data_dir, stem),
        savePickle=True, saveWideText=True,
    )
    return experiment


def run(design, description, keys, run_trial, swappable=True, image_duration=0.0):
    """Parse options, run every trial with ``run_trial(display, trial, args, observer)``, save the data.

    ``run_trial`` returns a dict of data for the trial, or None when the participant pressed escape.
    ``image_duration`` is the default of --duration (0: each image stays until the answer).
    """
    from psychopy import core, data, logging

    args = parse_arguments(design, description, keys, swappable, image_duration)
    logging.console.setLevel(logging.ERROR)
    conditions, folder = load_trials(args.trials)
    check_design(conditions, design, args.trials)
    experiment = start_experiment(args, design, args.trials)
    loop = data.TrialHandler(trialList=conditions, nReps=1, method="sequential", name="trials")
    experiment.addLoop(loop)
    observer = SimulatedObserver(args.sim_pse, args.sim_slope, args.sim_lapse, args.sim_seed) if args.simulate else None
    win = open_window(args)
    display = Display(win, args, folder)
    try:
        for trial in loop:
            display.fixate()
            result = run_trial(display, trial, args, observer)
            if result is None:
                break
            for name, value in result.items():
                if value is not None:  # simulated answers have no reaction time
                    experiment.addData(name, value)
            experiment.addData("simulated", bool(args.simulate))
            experiment.nextEntry()
    finally:
        win.close()
        experiment.saveAsWideText(experiment.dataFileName + ".csv", delim=",")
        experiment.saveAsPickle(experiment.dataFileName)
        experiment.abort()  # already saved: do not save again at exit
    print("saved %s.csv and %s.psydat" % (experiment.dataFileName, experiment.dataFileName))
    core.quit()
