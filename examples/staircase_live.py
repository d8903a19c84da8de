"""An adaptive identification experiment whose images are generated on the fly.

PsychoPy's staircase (two interleaved 1-up/1-down staircases, one starting near each endpoint)
or QUEST chooses the next morph level from the last answer; gaia-stim's LiveMorph decodes that
level into an image between two faces while the fixation cross is up. Both procedures converge on
the point of subjective equality (PSE), where "A" and "B" are equally likely. The participant
presses LEFT for "looks like A" and RIGHT for "looks like B".

    python examples/staircase_live.py --participant P01
    python examples/staircase_live.py --method quest
    xvfb-run -a python examples/staircase_live.py --simulate --fast   # unattended, no screen

Data: PsychoPy's wide CSV and .psydat in --data-dir (``morph_level``, ``chose_b``,
``generation_ms`` per trial); the PSE estimate is printed at the end.
"""

import argparse
import math
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'default' or a model file / training run folder")
    parser.add_argument("--from", dest="image_a", default=os.path.join(HERE, "faces", "face_00005.png"))
    parser.add_argument("--to", dest="image_b", default=os.path.join(HERE, "faces", "face_00006.png"))
    parser.add_argument("--method", choices=["staircase", "quest"], default="staircase")
    parser.add_argument("--trials", type=int, default=40, help="trials per staircase (quest: in total) [40]")
    parser.add_argument("--participant", default="P01")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--size", type=float, default=0.4, help="image height in height units [0.4]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the staircase interleaving [0]")
    parser.add_argument("--simulate", action="store_true", help="answer with a simulated observer")
    parser.add_argument("--sim-pse", type=float, default=0.45)
    parser.add_argument("--sim-slope", type=float, default=3.5)
    parser.add_argument("--sim-lapse", type=float, default=0.02)
    parser.add_argument("--fast", action="store_true", help="one frame per display, no waits (with --simulate)")
    parser.add_argument("--window-size", type=int, nargs=2, default=[1024, 768])
    args = parser.parse_args()
    if args.fast and not args.simulate:
        parser.error("--fast needs --simulate")
    return args


def make_procedures(args, data):
    """The PsychoPy handlers that choose morph levels, and how to read the PSE off them."""
    if args.method == "quest":
        quest = data.QuestHandler(
            startVal=0.5, startValSd=0.3, pThreshold=0.5, gamma=0.0, delta=0.02, nTrials=args.trials,
            minVal=-0.25, maxVal=1.25, range=2, grain=0.005, name="quest",
        )
        return [quest], lambda: quest.mean()
    stairs = [
        data.StairHandler(startVal=start, nTrials=args.trials, nUp=1, nDown=1, stepType="lin",
                          stepSizes=[0.2, 0.1, 0.05, 0.05, 0.025], minVal=-0.25, maxVal=1.25, name=f"stair_{start}")
        for start in (0.1, 0.9)
    ]

    def pse():
        # The mean of the last reversals of each staircase (the first ones are still homing in).
        return float(np.mean([np.mean(stair.reversalIntensities[-6:] or stair.intensities[-6:]) for stair in stairs]))

    return stairs, pse


def main():
    args = parse_arguments()
    import torch
    from psychopy import core, data, event, logging, visual

    import gaia_stim
    from gaia_stim import LiveMorph

    logging.console.setLevel(logging.ERROR)
    torch.set_num_threads(1)  # one core decodes; the other keeps drawing frames
    morph = LiveMorph(gaia_stim.load_model(args.model), args.image_a, args.image_b)
    rng = np.random.default_rng(args.seed)
    sim_rng = np.random.default_rng(args.seed + 1)

    procedures, estimate_pse = make_procedures(args, data)
    os.makedirs(args.data_dir, exist_ok=True)
    stem = os.path.join(args.data_dir, f"{args.participant}_staircase_{args.method}_{data.getDateStr()}")
    experiment = data.ExperimentHandler(name="gaia-stim live staircase", dataFileName=stem,
                                        extraInfo={"participant": args.participant, "method": args.method})
    for procedure in procedures:
        experiment.addLoop(procedure)

    win = visual.Window(size=args.window_size, units="height", color=(0, 0, 0), checkTiming=not args.fast)
    fixation = visual.TextStim(win, text="+", height=0.06)
    stim = visual.ImageStim(win, image=morph.array(0.5), size=(args.size, args.size), units="height")
    active = list(procedures)
    while active:
        procedure = active[int(rng.integers(len(active)))]
        try:
            level = float(procedure.next())
        except StopIteration:
            active.remove(procedure)
            continue
        fixation.draw()
        win.flip()
        start = time.perf_counter()
        stim.image = morph.array(level)  # generated while the fixation cross is up
        generation_ms = 1000 * (time.perf_counter() - start)
        if not args.fast:
            core.wait(max(0.0, 0.5 - generation_ms / 1000))
        stim.draw()
        win.flip()
        if args.simulate:
            if sim_rng.random() < args.sim_lapse:
                chose_b = sim_rng.random() < 0.5
            else:
                chose_b = sim_rng.random() < 1 / (1 + math.exp(-4 * args.sim_slope * (level - args.sim_pse)))
        else:
            keys = event.waitKeys(keyList=["left", "right", "escape"])
            if "escape" in keys:
                break
            chose_b = keys[0] == "right"
        # A staircase's "correct" moves it down: answering B lowers the level, A raises it.
        procedure.addResponse(int(chose_b))
        experiment.addData("procedure", procedure.name)
        experiment.addData("morph_level", level)
        experiment.addData("chose_b", int(chose_b))
        experiment.addData("design", "identification")
        experiment.addData("generation_ms", round(generation_ms, 3))
        experiment.nextEntry()
    win.close()
    experiment.saveAsWideText(stem + ".csv", delim=",")
    experiment.saveAsPickle(stem)
    experiment.abort()
    print(f"PSE estimate ({args.method}): {estimate_pse():.3f}")
    print(f"saved {stem}.csv and {stem}.psydat")
    core.quit()


if __name__ == "__main__":
    main()
