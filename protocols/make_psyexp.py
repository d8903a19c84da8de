"""Write the Builder experiments of the four designs with PsychoPy's own experiment API.

    python protocols/make_psyexp.py            # identification.psyexp, 2afc.psyexp, abx.psyexp, same_different.psyexp

The files are generated rather than hand-edited so each is always a file the installed PsychoPy
reads; run this after upgrading PsychoPy and commit the result (a test checks the committed files
are what this writes).

Each experiment: a dialog with ``participant``, ``session``, ``trials`` (the trial CSV from
``gaia-stim trials --design DESIGN``, relative to the .psyexp's folder or absolute) and
``instructions`` (the same text file the Coder protocol reads, ``instructions/DESIGN.txt``); an
instructions screen (its ``[start]`` text, SPACE starts); a ``sequential`` loop over the trial
file with a fixation cross and the design's displays (as the Coder protocol's defaults: one image,
or two side by side, until the answer; A, B, X or 1, 2 for 0.75 s each, 0.5 s apart, with the
keyboard starting at X's or the second image's onset, so an answer given while it is shown
counts); the end screen (``[end]``, 5 s or SPACE). The window takes the stimulus set's grey
(the manifest's mask grey, else the images' plain border, as the Coder protocols choose it).

Data: the code component ``session`` writes one row per trial to ``data/PARTICIPANT_DESIGN_DATE.csv``
as the trial ends (Builder itself saves its data only when the experiment ends), with the trial
list's columns, the answer and its coded value, the onsets, PsychoPy's info fields and the
stimulus set's manifest sha256; a SIGTERM handler ends the run through Python's exit, so
PsychoPy's ExperimentHandler still writes the ``.psydat`` and the ``.log``. Builder's own wide
CSV is switched off: it would hold the same trials again, and ``gaia-stim analyze data/*.csv``
would count them twice.

Keys are the Coder protocols' defaults (LEFT/RIGHT; S/D for same-different); the Builder files
have no practice, breaks, deadline or counterbalancing (the Coder protocols do).

The code component ``observer`` holds the simulated observer: with
``GAIA_STIM_SIMULATE="pse,slope,lapse,seed"`` in the environment it answers by itself (the draws of
the Coder protocols' observer, in the same order), every display lasts one frame, the info dialog
is not shown (its fields come from ``GAIA_STIM_EXPINFO``, a JSON object, e.g.
``{"participant": "sim", "trials": "/path/trials.csv"}``) and the experiment runs unattended.
``GAIA_STIM_EXPINFO`` alone answers the dialog and leaves the answers to the keyboard.
"""

import os

from psychopy.experiment import Experiment
from psychopy.experiment.components.code import CodeComponent
from psychopy.experiment.components.image import ImageComponent
from psychopy.experiment.components.keyboard import KeyboardComponent
from psychopy.experiment.components.text import TextComponent
from psychopy.experiment.loops import LoopInitiator, LoopTerminator, TrialHandler  # noqa: F401 (Builder's API)
from psychopy.experiment.routines import Routine

HERE = os.path.dirname(os.path.abspath(__file__))

# Before Experiment: the simulated observer's settings, the trial-by-trial CSV, SIGTERM.
BEFORE_EXPERIMENT = """\
import csv
import json
import math
import signal
import sys

import numpy as np

# GAIA_STIM_SIMULATE="pse,slope,lapse,seed" turns on the simulated observer.
sim_setting = os.environ.get("GAIA_STIM_SIMULATE", "").strip()
simulating = bool(sim_setting)
if simulating:
    sim_pse, sim_slope, sim_lapse, sim_seed = [float(v) for v in sim_setting.split(",")]
    sim_rng = np.random.default_rng(int(sim_seed))
if simulating or os.environ.get("GAIA_STIM_EXPINFO"):
    # Unattended: the info dialog is answered from GAIA_STIM_EXPINFO (JSON) instead of shown.
    class _AnsweredDialog:
        def __init__(self, dictionary, **options):
            dictionary.update(json.loads(os.environ.get("GAIA_STIM_EXPINFO", "{}")))
            self.OK = True
    gui.DlgFromDict = _AnsweredDialog
fixation_duration = 0.0 if simulating else 0.5
image_duration = 0.02 if simulating else 0.75  # sequential displays (ABX, same-different)
isi = 0.0 if simulating else 0.5


class TrialByTrialCSV:
    \"\"\"One row per trial, on disk as the trial ends (line-buffered), so a crash keeps every finished trial.\"\"\"

    def __init__(self):
        self.handle = self.writer = None

    def write(self, path, row):
        if self.writer is None:
            self.handle = open(path, 'x', newline='', encoding='utf-8-sig', buffering=1)
            self.writer = csv.DictWriter(self.handle, fieldnames=list(row), lineterminator='\\n')
            self.writer.writeheader()
        self.writer.writerow({name: '' if value is None else value for name, value in row.items()})


trial_csv = TrialByTrialCSV()

# PsychoPy 2026.2's 'event' keyboard backend (used where psychtoolbox's keyboard cannot start, e.g.
# without libjack) names a key [name, time] instead of name, so no keyList ever matches and no key
# would end a routine; name its keys as the other backends do.
from psychopy.hardware import keyboard as _keyboard
_parse_message = _keyboard.KeyboardDevice.parseMessage


def _parse_named(self, message):
    if _keyboard.KeyboardDevice._backend == 'event' and isinstance(message, (list, tuple)):
        message = message[0]
    return _parse_message(self, message)


_keyboard.KeyboardDevice.parseMessage = _parse_named
# SIGTERM ends the run through Python's exit, so PsychoPy saves the .psydat and the .log at exit.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def clamp_to_edge(*stims):
    \"\"\"Sample beyond an image's edge from its edge pixels: PsychoPy's GL_CLAMP_TO_BORDER draws a dark
    line round scaled images, a visible square on a matching grey.\"\"\"
    from pyglet import gl as GL
    for stim in stims:
        for texture in (stim._texID, stim._maskID):
            GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    GL.glBindTexture(GL.GL_TEXTURE_2D, 0)


KEY_LABELS = {'left': 'LEFT ARROW', 'right': 'RIGHT ARROW', 'space': 'SPACE'}


def read_screens(path):
    \"\"\"The [name] screens of an instructions file (protocols/_instructions.py describes the format).\"\"\"
    screens, name = {}, 'start'
    with open(path, encoding='utf-8-sig') as handle:
        for line in handle.read().splitlines():
            if line.startswith('#'):
                continue
            if line.strip().startswith('[') and line.strip().endswith(']'):
                name = line.strip()[1:-1]
                continue
            screens[name] = screens.get(name, '') + line + '\\n'
    return {name: text.strip('\\n') for name, text in screens.items()}
"""

# Begin Experiment: the instructions, the window's grey, the set's sha256.
BEGIN_EXPERIMENT = """\
# Image paths in the trial file are relative to the trial file.
trial_folder = os.path.dirname(os.path.abspath(expInfo['trials']))
screens = {'start': 'Press SPACE to start.', 'end': 'That is all. Thank you!'}
if os.path.isfile(expInfo.get('instructions', '')):
    screens.update(read_screens(expInfo['instructions']))
else:
    logging.warning('instructions file %r not found: a one-line start screen stands in' % expInfo.get('instructions'))
key_names = {role: KEY_LABELS.get(key, key.upper()) for role, key in KEY_ROLES.items()}
start_text = screens['start'].format(n_trials='', n_practice=0, trial=0, **key_names)
end_text = screens['end'].format(n_trials='', n_practice=0, trial=0, **key_names)

# The window takes the stimulus set's grey: the grey a masked set was made on (its manifest),
# else the median of the images' outermost pixels when at least half of them are within 6/255 of it.
set_manifest_sha256, grey = None, None
try:
    with open(os.path.splitext(expInfo['trials'])[0] + '.json', encoding='utf-8') as handle:
        stimulus_set = json.load(handle)['stimulus_set']
    set_manifest_sha256 = stimulus_set.get('manifest_sha256')
    with open(os.path.join(trial_folder, *stimulus_set['folder'].split('/'), 'manifest.json'), encoding='utf-8') as handle:
        adjust = json.load(handle).get('adjust') or {}
    if adjust.get('mask'):
        grey = [float(adjust['background'])] * 3
except (OSError, ValueError, KeyError, TypeError, AttributeError):
    pass
if grey is None:
    from PIL import Image
    paths = {row[column] for row in data.importConditions(expInfo['trials']) for column in IMAGE_COLUMNS}
    rings = []
    for path in sorted(paths):
        with Image.open(os.path.join(trial_folder, *path.split('/'))) as opened:
            pixels = np.asarray(opened.convert('RGB'), dtype=float) / 255
        rings.append(np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]))
    ring = np.concatenate(rings)
    median = np.median(ring, axis=0)
    grey = list(median) if np.mean(np.all(np.abs(ring - median) <= 6 / 255, axis=1)) >= 0.5 else [0.5] * 3
win.color = [2 * value - 1 for value in grey]
text_colour = 'black' if np.mean(grey) > 0.5 else 'white'
"""

SCREEN_EACH_FRAME = """\
if simulating and frameN >= 1:
    continueRoutine = False  # the screen has been drawn for one frame
"""

# What each design puts on the screen and how the observer answers. Every random choice is one
# sim_rng.random() draw, in the order of the Coder protocols' SimulatedObserver.
DESIGNS = {
    "identification": {
        "keys": ("left", "right"),
        "roles": {"key_a": "left", "key_b": "right"},
        "images": [("stimulus", "image_file", (0, 0), "0.0", "")],
        "keyboard_start": "0.0",
        "begin_routine": """\
image_path = os.path.join(trial_folder, *image_file.split('/'))
sim_answer = None
if simulating:
    if sim_rng.random() < sim_lapse:
        chose_b = sim_rng.random() < 0.5
    else:
        chose_b = sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (morph_level - sim_pse)))
    sim_answer = 'right' if chose_b else 'left'
""",
        "coded": """\
coded = {'chose_b': None if answer is None else int(answer == 'right')}
thisExp.addData('chose_b', coded['chose_b'])
""",
    },
    "2afc": {
        "keys": ("left", "right"),
        "roles": {"key_left": "left", "key_right": "right"},
        "images": [("left_image", "image_left", (-0.24, 0), "0.0", ""),
                   ("right_image", "image_right", (0.24, 0), "0.0", "")],
        "keyboard_start": "0.0",
        "begin_routine": """\
sim_answer = None
if simulating:
    def label_is_b(level):
        return sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (level - sim_pse)))
    if sim_rng.random() < sim_lapse:
        chose_left = sim_rng.random() < 0.5
    else:
        left_is_b = label_is_b(morph_left)
        right_is_b = label_is_b(morph_right)
        chose_left = (not left_is_b) if left_is_b != right_is_b else sim_rng.random() < 0.5
    sim_answer = 'left' if chose_left else 'right'
""",
        "coded": """\
coded = {'chosen_side': answer, 'correct': None if answer is None else int(answer == correct_side)}
thisExp.addData('correct', coded['correct'])
""",
    },
    "abx": {
        "keys": ("left", "right"),
        "roles": {"key_a": "left", "key_b": "right"},
        "images": [("image_a_stim", "image_a", (0, 0), "0.0", "$image_duration"),
                   ("image_b_stim", "image_b", (0, 0), "$image_duration + isi", "$image_duration"),
                   ("image_x_stim", "image_x", (0, 0), "$2 * (image_duration + isi)", "$image_duration")],
        "keyboard_start": "$2 * (image_duration + isi)",
        "begin_routine": """\
sim_answer = None
if simulating:
    def label_is_b(level):
        return sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (level - sim_pse)))
    if sim_rng.random() < sim_lapse:
        says_a = sim_rng.random() < 0.5
    else:
        a_is_b = label_is_b(morph_a)
        b_is_b = label_is_b(morph_b)
        x_is_b = label_is_b(morph_x)
        says_a = (x_is_b == a_is_b) if a_is_b != b_is_b else sim_rng.random() < 0.5
    sim_answer = 'left' if says_a else 'right'
""",
        "coded": """\
coded = {'answer': None if answer is None else 'A' if answer == 'left' else 'B'}
coded['correct'] = None if answer is None else int(coded['answer'] == correct_answer)
thisExp.addData('answer', coded['answer'])
thisExp.addData('correct', coded['correct'])
""",
    },
    "same-different": {
        "keys": ("s", "d"),
        "roles": {"key_same": "s", "key_different": "d"},
        "images": [("image_1_stim", "image_1", (0, 0), "0.0", "$image_duration"),
                   ("image_2_stim", "image_2", (0, 0), "$image_duration + isi", "$image_duration")],
        "keyboard_start": "$image_duration + isi",
        "begin_routine": """\
sim_answer = None
if simulating:
    def label_is_b(level):
        return sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (level - sim_pse)))
    if sim_rng.random() < sim_lapse:
        different = sim_rng.random() < 0.5
    else:
        different = label_is_b(morph_1) != label_is_b(morph_2)
    sim_answer = 'd' if different else 's'
""",
        "coded": """\
coded = {'said_different': None if answer is None else int(answer == 'd')}
coded['correct'] = None if answer is None else int(('different' if answer == 'd' else 'same') == correct_answer)
thisExp.addData('said_different', coded['said_different'])
thisExp.addData('correct', coded['correct'])
""",
    },
}


def file_name(design):
    return design.replace("-", "_") + ".psyexp"


def _end_routine(design, spec):
    onsets = ", ".join("'onset_%s': %s.tStartRefresh" % (column.replace("image_", ""), name)
                       for name, column, _, _, _ in spec["images"])
    return (
        "if simulating:\n"
        "    answer, answer_rt = sim_answer, None\n"
        "else:\n"
        "    answer, answer_rt = key_resp.keys, key_resp.rt\n"
        "    answer = answer or None  # no key: the routine was ended another way\n"
        f"thisExp.addData('design', '{design}')\n"
        "thisExp.addData('response', answer)\n"
        "if answer_rt is not None:\n"
        "    thisExp.addData('rt', answer_rt)\n"
        + spec["coded"]
        + "thisExp.addData('simulated', simulating)\n"
        "# The trial's row, written now (the ExperimentHandler saves only at the end).\n"
        "row = {'trial_number': trials.thisN + 1, **trials.thisTrial, 'response': answer, 'rt': answer_rt, **coded,\n"
        f"       {onsets},\n"
        "       'participant': expInfo['participant'], 'session': expInfo['session'], 'date': expInfo['date'],\n"
        "       'expName': expName, 'psychopyVersion': psychopyVersion, 'frameRate': expInfo.get('frameRate'),\n"
        "       'trial_file': os.path.basename(expInfo['trials']), 'set_manifest_sha256': set_manifest_sha256,\n"
        "       'simulated': int(simulating)}\n"
        "trial_csv.write(thisExp.dataFileName + '.csv', row)\n"
    )


def build(design):
    """The Builder experiment of ``design`` (a psychopy.experiment.Experiment)."""
    spec = DESIGNS[design]
    exp = Experiment()
    settings = exp.settings.params
    settings["expName"].val = design
    settings["Units"].val = "height"
    settings["color"].val = "$[0,0,0]"
    settings["Experiment info"].val = (
        "{'participant': 'P01', 'session': '001', 'trials': 'trials.csv', "
        f"'instructions': 'instructions/{design.replace('-', '_')}.txt'}}"
    )
    settings["Full-screen window"].val = True
    settings["Save wide csv file"].val = False  # the session component writes the CSV trial by trial
    settings["Save psydat file"].val = True
    settings["Save log file"].val = True

    # The instructions screen, whose code component also sets the session up.
    instructions = Routine("instructions", exp)
    exp.addRoutine("instructions", instructions)
    image_columns = [column for _, column, _, _, _ in spec["images"]]
    session = CodeComponent(
        exp, "instructions", name="session", codeType="Py",
        beforeExp=f"KEY_ROLES = {spec['roles']!r}\nIMAGE_COLUMNS = {image_columns!r}\n" + BEFORE_EXPERIMENT,
        beginExp=BEGIN_EXPERIMENT, eachFrame=SCREEN_EACH_FRAME,
    )
    text = TextComponent(exp, "instructions", name="start_text_stim", text="$start_text", letterHeight=0.032,
                         color="$text_colour", startVal=0.0, stopVal="")
    text.params["wrapWidth"].val = 1.2
    space = KeyboardComponent(exp, "instructions", name="start_key", allowedKeys="'space'", store="nothing",
                              forceEndRoutine=True, startVal=0.0, stopVal="")
    for component in (session, text, space):
        instructions.addComponent(component)

    fixation = Routine("fixation", exp)
    exp.addRoutine("fixation", fixation)
    cross = TextComponent(exp, "fixation", name="cross", text="+", letterHeight=0.06, color="$text_colour",
                          startVal=0.0, stopType="duration (s)", stopVal="$fixation_duration")
    fixation.addComponent(cross)

    trial = Routine("trial", exp)
    exp.addRoutine("trial", trial)
    names = [name for name, _, _, _, _ in spec["images"]]
    begin = spec["begin_routine"]
    if design != "identification":  # identification's code names image_path itself
        begin = "".join(f"{column}_path = os.path.join(trial_folder, *{column}.split('/'))\n"
                        for column in image_columns) + begin
    observer = CodeComponent(
        exp, "trial", name="observer", codeType="Py", beginRoutine=begin,
        eachFrame=(f"if frameN == 0:\n    clamp_to_edge({', '.join(names)})\n"
                   "if simulating and key_resp.status == STARTED:\n"
                   "    continueRoutine = False  # every display has been drawn for a frame\n"),
        endRoutine=_end_routine(design, spec),
    )
    trial.addComponent(observer)
    for name, column, pos, start, stop in spec["images"]:
        path = "$image_path" if design == "identification" else f"${column}_path"
        image = ImageComponent(exp, "trial", name=name, image=path, pos=pos, size=(0.4, 0.4), units="height",
                               interpolate="linear", startVal=start, stopType="duration (s)", stopVal=stop)
        image.params["image"].updates = "set every repeat"
        trial.addComponent(image)
    keys = KeyboardComponent(exp, "trial", name="key_resp", allowedKeys=", ".join(f"'{k}'" for k in spec["keys"]),
                             store="last key", forceEndRoutine=True, startVal=spec["keyboard_start"], stopVal="")
    trial.addComponent(keys)

    end = Routine("end", exp)
    exp.addRoutine("end", end)
    end_code = CodeComponent(exp, "end", name="end_code", codeType="Py", eachFrame=SCREEN_EACH_FRAME)
    end_text = TextComponent(exp, "end", name="end_text_stim", text="$end_text", letterHeight=0.032,
                             color="$text_colour", startVal=0.0, stopType="duration (s)", stopVal=5.0)
    end_text.params["wrapWidth"].val = 1.2
    end_key = KeyboardComponent(exp, "end", name="end_key", allowedKeys="'space'", store="nothing",
                                forceEndRoutine=True, startVal=0.0, stopVal=5.0)
    for component in (end_code, end_text, end_key):
        end.addComponent(component)

    loop = TrialHandler(exp, name="trials", loopType="sequential", nReps=1, conditionsFile="$expInfo['trials']")
    exp.flow.addRoutine(instructions, 0)
    exp.flow.addRoutine(fixation, 1)
    exp.flow.addRoutine(trial, 2)
    exp.flow.addLoop(loop, startPos=1, endPos=3)
    exp.flow.addRoutine(end, 5)
    return exp


def write_all(folder=HERE):
    """Write every design's .psyexp into ``folder``; returns their paths."""
    paths = []
    for design in DESIGNS:
        path = os.path.join(folder, file_name(design))
        build(design).saveToXML(path, makeLegacy=False)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print("wrote", written)
