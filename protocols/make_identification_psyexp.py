"""Write identification.psyexp, the Builder version of identification.py, with PsychoPy's own API.

The experiment is generated rather than hand-edited so it is always a file the installed
PsychoPy reads; run this after upgrading PsychoPy and commit the result:

    python protocols/make_identification_psyexp.py

What it holds: a dialog with ``participant``, ``session`` and ``trials`` (the trial CSV from
``gaia-stim trials --design identification``, relative to this folder or absolute); a
``sequential`` loop over that file; per trial a fixation cross (0.5 s), the image (0.4 height
units, until the answer) and a keyboard (LEFT = endpoint A, RIGHT = endpoint B). A code component
records ``response``, ``chose_b`` and ``rt`` and holds the simulated observer: when the
environment variable GAIA_STIM_SIMULATE is ``pse,slope,lapse,seed`` (e.g. ``0.45,3.5,0.02,7``)
answers are drawn from the psychometric function of the morph level, every display lasts one
frame, the info dialog is not shown (its fields come from GAIA_STIM_EXPINFO, a JSON object, e.g.
``{"participant": "sim", "trials": "/path/trials.csv"}``) and the experiment runs unattended.
"""

import os

from psychopy.experiment import Experiment
from psychopy.experiment.components.code import CodeComponent
from psychopy.experiment.components.image import ImageComponent
from psychopy.experiment.components.keyboard import KeyboardComponent
from psychopy.experiment.components.text import TextComponent
from psychopy.experiment.loops import LoopInitiator, LoopTerminator, TrialHandler
from psychopy.experiment.routines import Routine

HERE = os.path.dirname(os.path.abspath(__file__))

BEFORE_EXPERIMENT = """\
import math
import os

import numpy as np

# GAIA_STIM_SIMULATE="pse,slope,lapse,seed" turns on the simulated observer.
sim_setting = os.environ.get("GAIA_STIM_SIMULATE", "").strip()
simulating = bool(sim_setting)
if simulating:
    sim_pse, sim_slope, sim_lapse, sim_seed = [float(v) for v in sim_setting.split(",")]
    sim_rng = np.random.default_rng(int(sim_seed))
    # Unattended: the info dialog is answered from GAIA_STIM_EXPINFO (JSON) instead of shown.
    class _AnsweredDialog:
        def __init__(self, dictionary, **options):
            import json
            dictionary.update(json.loads(os.environ.get("GAIA_STIM_EXPINFO", "{}")))
            self.OK = True
    gui.DlgFromDict = _AnsweredDialog
fixation_duration = 0.0 if simulating else 0.5
"""

BEGIN_EXPERIMENT = """\
# Image paths in the trial file are relative to the trial file.
trial_folder = os.path.dirname(os.path.abspath(expInfo['trials']))
"""

BEGIN_ROUTINE = """\
image_path = os.path.join(trial_folder, *image_file.split('/'))
sim_answer = None
if simulating:
    if sim_rng.random() < sim_lapse:
        chose_b = sim_rng.random() < 0.5
    else:
        chose_b = sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (morph_level - sim_pse)))
    sim_answer = 'right' if chose_b else 'left'
"""

EACH_FRAME = """\
if simulating and frameN >= 1:
    continueRoutine = False  # the image has been drawn for one frame
"""

END_ROUTINE = """\
if simulating:
    answer, answer_rt = sim_answer, None
else:
    answer, answer_rt = key_resp.keys, key_resp.rt
thisExp.addData('design', 'identification')
thisExp.addData('response', answer)
if answer_rt is not None:
    thisExp.addData('rt', answer_rt)
thisExp.addData('chose_b', int(answer == 'right'))
thisExp.addData('simulated', simulating)
"""


def build():
    exp = Experiment()
    settings = exp.settings.params
    settings["expName"].val = "identification"
    settings["Units"].val = "height"
    settings["color"].val = "$[0,0,0]"
    settings["Experiment info"].val = "{'participant': 'P01', 'session': '001', 'trials': 'trials.csv'}"
    settings["Full-screen window"].val = True

    fixation = Routine("fixation", exp)
    exp.addRoutine("fixation", fixation)
    cross = TextComponent(exp, "fixation", name="cross", text="+", letterHeight=0.06,
                          startVal=0.0, stopType="duration (s)", stopVal="$fixation_duration")
    fixation.addComponent(cross)

    trial = Routine("trial", exp)
    exp.addRoutine("trial", trial)
    observer = CodeComponent(
        exp, "trial", name="observer", beforeExp=BEFORE_EXPERIMENT, beginExp=BEGIN_EXPERIMENT,
        beginRoutine=BEGIN_ROUTINE, eachFrame=EACH_FRAME, endRoutine=END_ROUTINE, codeType="Py",
    )
    image = ImageComponent(exp, "trial", name="stimulus", image="$image_path", size=(0.4, 0.4),
                           units="height", interpolate="linear", startVal=0.0, stopType="duration (s)", stopVal="")
    image.params["image"].updates = "set every repeat"
    keys = KeyboardComponent(exp, "trial", name="key_resp", allowedKeys="'left','right'", store="last key",
                             forceEndRoutine=True, startVal=0.0, stopVal="")
    for component in (observer, image, keys):
        trial.addComponent(component)

    loop = TrialHandler(exp, name="trials", loopType="sequential", nReps=1,
                        conditionsFile="$expInfo['trials']")
    exp.flow.addRoutine(fixation, 0)
    exp.flow.addRoutine(trial, 1)
    exp.flow.addLoop(loop, startPos=0, endPos=2)
    return exp


if __name__ == "__main__":
    path = os.path.join(HERE, "identification.psyexp")
    build().saveToXML(path, makeLegacy=False)
    print("wrote", path)
