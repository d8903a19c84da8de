"""Write the Builder experiments of the six designs with PsychoPy's own experiment API.

    python protocols/make_psyexp.py    # identification, 2afc, abx, same_different, mlds_triads, mlds_quadruples .psyexp

The files are generated rather than hand-edited so each is always a file the installed PsychoPy
reads; run this after upgrading PsychoPy, or after changing a rule the Coder protocols share with
the Builder files, and commit the result (a test checks the committed files are what this writes).

Each experiment: a dialog (Experiment info) with ``participant``, ``session``, ``trials`` (the
trial CSV from ``gaia-stim trials --design DESIGN``, relative to the .psyexp's folder or
absolute), ``instructions`` (the same text file the Coder protocol reads,
``instructions/DESIGN.txt``) and the session's options, each as the Coder option of that name:

- ``practice``: N practice trials with feedback before the main trials (0: none), the N easiest
  trials of the list in the list's order, chosen by the Coder protocol's own ``ease`` and
  ``practice_trials`` (copied from the protocol files); their rows have ``is_practice`` = 1, which
  ``gaia-stim analyze`` leaves out;
- ``break_every``: a break screen after every N main trials (0: none);
- ``response_timeout``: seconds to answer from the onset of the display the answer belongs to
  (empty: no limit); a trial without an answer by then has ``response`` empty and ``timed_out`` 1;
- ``key_mapping`` (the designs whose keys name answers, not sides): ``standard``, ``swapped``, or
  ``counterbalance``, which chooses by the participant number with the Coder protocols' rule
  (``_protocol.participant_number`` and ``counterbalanced_mapping``, copied).

Defaults (0, 0, empty, standard) run the experiment without practice, breaks or deadline.

The flow: the instructions screen (``[start]``, SPACE), the ``[practice]`` screen and a
``practice_loop`` loop (fixation, trial, feedback: the ``[correct]``, ``[wrong]`` or
``[too_slow]`` text for 0.75 s; designs without a right answer show only ``[too_slow]``), the
``[main]`` screen (the screens of the practice only when there is one: each routine's "Skip if"),
the ``trials`` loop (sequential: the order is the file's) with fixation, trial and the ``[break]``
screen, and the ``[end]`` screen (5 s or SPACE). Texts come from the instructions file through
the Coder protocols' ``_instructions.Texts`` (copied), so the same placeholders are filled in.
Displays as the Coder protocols' defaults: one image, two side by side or the MLDS layouts until
the answer; A, B, X or 1, 2 for 0.75 s each, 0.5 s apart, the keyboard starting at X's or the
second image's onset. The window takes the stimulus set's grey.

Data: the code component ``observer`` writes one row per trial (practice trials too) to
``data/PARTICIPANT_DESIGN_DATE.csv`` as the trial ends (Builder itself saves its data only when the
experiment ends), with ``is_practice``, ``trial_number``, the trial list's columns, the answer, its
coded value and ``correct``, ``timed_out``, ``break_after`` (1 where a break screen followed), the
onsets, the key mapping and keys, the options, PsychoPy's info fields and the stimulus set's
manifest sha256; the log (level EXP) names every break screen. A SIGTERM handler ends the run
through Python's exit, so PsychoPy's ExperimentHandler still writes the ``.psydat`` and the
``.log``. Builder's own wide CSV is switched off: it would hold the same trials again.

The code component ``observer`` also holds the simulated observer. With
``GAIA_STIM_SIMULATE="pse,slope,lapse,seed"`` (the MLDS designs: ``"scale,sigma,seed"``, the
scale as the Coder protocols' ``--sim-scale``) in the environment it answers by itself (the draws
of the Coder protocols' observer, in the same order), every display lasts about a frame, the
info dialog is not shown (its fields come from ``GAIA_STIM_EXPINFO``, a JSON object, e.g.
``{"participant": "sim", "trials": "/path/trials.csv", "practice": 4}``) and the experiment runs
unattended. ``GAIA_STIM_SIMULATE_RT=S`` makes the observer answer S seconds after the answer
display's onset (so a deadline can pass first). ``GAIA_STIM_EXPINFO`` alone answers the dialog and
leaves the answers to the keyboard.
"""

import importlib.util
import inspect
import os
import pprint
import sys

from psychopy.experiment import Experiment
from psychopy.experiment.components.code import CodeComponent
from psychopy.experiment.components.image import ImageComponent
from psychopy.experiment.components.keyboard import KeyboardComponent
from psychopy.experiment.components.text import TextComponent
from psychopy.experiment.loops import LoopInitiator, LoopTerminator, TrialHandler  # noqa: F401 (Builder's API)
from psychopy.experiment.routines import Routine

HERE = os.path.dirname(os.path.abspath(__file__))


def _protocol_module(script):
    """A Coder protocol as a module (its ``__main__`` block, which opens a window, does not run)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)  # the protocols import their shared _protocol.py, _mlds.py
    spec = importlib.util.spec_from_file_location("_psyexp_" + os.path.splitext(script)[0], os.path.join(HERE, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shared_rules():
    """The Coder protocols' rules the Builder files run too, as source text: the counterbalancing, the
    choice of practice trials, the instructions texts and the window's grey (one copy of each rule)."""
    _protocol_module("identification.py")  # puts the shared modules on the path
    import _display
    import _instructions
    import _protocol

    parts = [inspect.getsource(_protocol.participant_number), inspect.getsource(_protocol.counterbalanced_mapping),
             inspect.getsource(_protocol.practice_trials),
             "DEFAULT_SCREENS = " + pprint.pformat(_instructions.DEFAULT_SCREENS, width=110, sort_dicts=False),
             "KEY_LABELS = " + pprint.pformat(_instructions.KEY_LABELS, width=110, sort_dicts=False),
             inspect.getsource(_instructions.key_label), inspect.getsource(_instructions.read_screens),
             inspect.getsource(_instructions.Texts), inspect.getsource(_display.border_colour),
             inspect.getsource(_display._is_level), inspect.getsource(_display.recorded_ground)]
    return ("# From protocols/_protocol.py, _instructions.py and _display.py (make_psyexp.py copies them).\n"
            "import re\nimport string\n\n\n" + "\n\n".join(part.rstrip("\n") + "\n" for part in parts))


# Before Experiment: the simulated observer's settings, the trial-by-trial CSV, SIGTERM, the rules.
BEFORE_EXPERIMENT = """\
import csv
import json
import math
import signal
import sys

import numpy as np

{shared_rules}


{ease}

# GAIA_STIM_SIMULATE turns on the simulated observer (see protocols/make_psyexp.py).
sim_setting = os.environ.get("GAIA_STIM_SIMULATE", "").strip()
simulating = bool(sim_setting)
if simulating:
{parse_simulation}
    sim_rng = np.random.default_rng(int(float(sim_seed)))
    sim_response_time = float(os.environ.get("GAIA_STIM_SIMULATE_RT", "0") or 0)  # s after the answer display
if simulating or os.environ.get("GAIA_STIM_EXPINFO"):
    # Unattended: the info dialog is answered from GAIA_STIM_EXPINFO (JSON) instead of shown.
    class _AnsweredDialog:
        def __init__(self, dictionary, **options):
            dictionary.update(json.loads(os.environ.get("GAIA_STIM_EXPINFO", "{{}}")))
            self.OK = True
    gui.DlgFromDict = _AnsweredDialog
fixation_duration = 0.0 if simulating else 0.5
image_duration = 0.02 if simulating else 0.75  # sequential displays (ABX, same-different)
isi = 0.0 if simulating else 0.5
feedback_duration = 0.0 if simulating else 0.75  # the Coder protocols' --feedback-duration


class TrialByTrialCSV:
    \"\"\"One row per trial, on disk as the trial ends (line-buffered), so a crash keeps every finished trial.\"\"\"

    def __init__(self):
        self.handle = self.writer = None

    def write(self, path, row):
        if self.writer is None:
            self.handle = open(path, 'x', newline='', encoding='utf-8-sig', buffering=1)
            self.writer = csv.DictWriter(self.handle, fieldnames=list(row), lineterminator='\\n')
            self.writer.writeheader()
        self.writer.writerow({{name: '' if value is None else value for name, value in row.items()}})


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


def info_option(expInfo, name):
    \"\"\"An Experiment info field as text (a list field's first entry where the dialog was not shown).\"\"\"
    value = expInfo.get(name, '')
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ''
    return str(value).strip()


def count_option(expInfo, name, meaning):
    text = info_option(expInfo, name) or '0'
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SystemExit("Experiment info %r must be a whole number >= 0 (%s); got %r" % (name, meaning, text))
    return value


def seconds_option(expInfo, name):
    text = info_option(expInfo, name)
    if text.lower() in ('', 'none'):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not (math.isfinite(value) and value > 0):
        raise SystemExit("Experiment info %r must be empty (no deadline) or a positive number of seconds; got %r"
                         % (name, text))
    return value


def mapping_option(expInfo):
    \"\"\"The key mapping: 'standard', 'swapped', or by the participant number ('counterbalance').\"\"\"
    if not SWAPPABLE:
        return 'standard'  # the keys name sides, not answers
    choice = info_option(expInfo, 'key_mapping') or 'standard'
    if choice == 'counterbalance':
        number = participant_number(str(expInfo['participant']))
        if number is None:
            raise SystemExit("Experiment info 'key_mapping' counterbalance needs a number in 'participant' "
                             "(e.g. P07); got %r" % expInfo['participant'])
        return counterbalanced_mapping(number)
    if choice not in ('standard', 'swapped'):
        raise SystemExit("Experiment info 'key_mapping' must be standard, swapped or counterbalance; got %r" % choice)
    return choice


def break_due(number, break_every, n_trials):
    \"\"\"A break after main trial ``number``: every ``break_every`` trials, not after the last (the Coder rule).\"\"\"
    return bool(break_every and number % break_every == 0 and number < n_trials)
"""

# Begin Experiment: the trial list, the options, the texts, the window's grey, the set's sha256.
BEGIN_EXPERIMENT = """\
# Image paths in the trial file are relative to the trial file.
trial_folder = os.path.dirname(os.path.abspath(expInfo['trials']))
conditions = data.importConditions(expInfo['trials'])
listed_designs = sorted({str(row.get('design')) for row in conditions})
if listed_designs != [DESIGN]:
    raise SystemExit("%r holds %s trials; this experiment runs %s trials (write the list with "
                     "'gaia-stim trials --design %s')" % (expInfo['trials'], ', '.join(listed_designs), DESIGN, DESIGN))
n_trials = len(conditions)

# The session's options (Experiment info; protocols/make_psyexp.py and docs/psychopy.md describe them).
n_practice_asked = count_option(expInfo, 'practice', 'practice trials; 0: none')
break_every = count_option(expInfo, 'break_every', 'main trials between breaks; 0: no breaks')
response_timeout = seconds_option(expInfo, 'response_timeout')
key_mapping = mapping_option(expInfo)
answer_keys = dict(zip(KEY_ROLES, KEYS[::-1] if key_mapping == 'swapped' else KEYS))
answer_window = float('inf') if response_timeout is None else response_timeout  # the keyboard's duration
practice = practice_trials(conditions, n_practice_asked, ease) if n_practice_asked else []
# The practice loop selects these rows of the trial file (Selected rows), in the file's order.
practice_rows = [index for index, row in enumerate(conditions) if any(row is chosen for chosen in practice)]
n_practice = len(practice_rows)

instructions_file = expInfo.get('instructions', '')
if not os.path.isfile(instructions_file):
    logging.warning('instructions file %r not found: the default English texts stand in' % instructions_file)
    instructions_file = os.devnull
try:
    texts = Texts(instructions_file, answer_keys, n_trials=n_trials, n_practice=n_practice)
except ValueError as error:
    raise SystemExit(str(error))
start_text, practice_text, main_text, end_text = (texts.text(name) for name in ('start', 'practice', 'main', 'end'))
feedback_text = break_text = ''
break_now, number = False, 0

# The window takes the stimulus set's grey as the Coder protocols choose it: the ground its manifest
# records (recorded_ground), else the median of the images' outermost pixels when at least half of
# them are within 6/255 of it (border_colour), else mid grey.
set_manifest_sha256, grey = None, None
try:
    with open(os.path.splitext(expInfo['trials'])[0] + '.json', encoding='utf-8') as handle:
        stimulus_set = json.load(handle)['stimulus_set']
    set_manifest_sha256 = stimulus_set.get('manifest_sha256')
    with open(os.path.join(trial_folder, *stimulus_set['folder'].split('/'), 'manifest.json'), encoding='utf-8') as handle:
        recorded = recorded_ground(json.load(handle))
    if recorded is not None:
        grey = [float(value) for value in recorded[0]]
except (OSError, ValueError, KeyError, TypeError, AttributeError):
    pass
if grey is None:
    paths = sorted({row[column] for row in conditions for column in IMAGE_COLUMNS})
    median, share = border_colour([os.path.join(trial_folder, *path.split('/')) for path in paths])
    grey = [float(value) for value in median] if share >= 0.5 else [0.5] * 3
win.color = [2 * value - 1 for value in grey]
text_colour = 'black' if np.mean(grey) > 0.5 else 'white'
logging.exp('gaia-stim: %s session of %s, %d trials (%d practice), break every %d, response timeout %s, keys %s (%s)'
            % (DESIGN, expInfo['participant'], n_trials, n_practice, break_every, response_timeout, answer_keys,
               key_mapping))
"""

SCREEN_EACH_FRAME = """\
if frameN == 0:
    logging.exp('gaia-stim: {name} screen')
if simulating and frameN >= 1:
    continueRoutine = False  # the screen has been drawn for one frame
"""

BREAK_EACH_FRAME = """\
if frameN == 0:
    logging.exp('gaia-stim: break screen after main trial %d of %d' % (number, n_trials))
if simulating and frameN >= 1:
    continueRoutine = False  # the screen has been drawn for one frame
"""

LABELLING_SIMULATION = """\
    sim_pse, sim_slope, sim_lapse, sim_seed = [float(v) for v in sim_setting.split(",")]"""
SCALE_SIMULATION = """\
    # "SCALE,SIGMA,SEED": the scale may hold commas itself (table:L1=V1,L2=V2,...)
    sim_scale, sim_sigma, sim_seed = sim_setting.rsplit(",", 2)
    sim_sigma = float(sim_sigma)
    sim_psi = parse_scale(sim_scale)"""

_SECOND_PROBABILITY = """\
    # P(second pair more different) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma), as _mlds.ScaleObserver
    psi = [float(value) for value in sim_psi(np.asarray([{levels}], dtype=np.float64))]
    first_difference = abs(psi[1] - psi[0])
    second_difference = {second}
    second_probability = 0.5 * math.erfc(-(second_difference - first_difference) / (sim_sigma * math.sqrt(2.0)))
    sim_answer = answer_keys['key_right'] if sim_rng.random() < second_probability else answer_keys['key_left']
"""

_MLDS_CODED = """\
pair = None if answer is None else 'second' if answer == answer_keys['key_right'] else 'first'
coded = {'chosen_pair': pair, 'chose_second_pair': None if pair is None else int(pair == 'second'), 'correct': None}
thisExp.addData('chosen_pair', coded['chosen_pair'])
thisExp.addData('chose_second_pair', coded['chose_second_pair'])
"""


def _mlds(script, n_images):
    from_module = _protocol_module("_mlds.py")
    positions = [(round(x, 4), round(y, 4)) for x, y in from_module.positions(n_images, 0.4)]
    second = "abs(psi[2] - psi[1])" if n_images == 3 else "abs(psi[3] - psi[2])"
    return {
        "script": script,
        "images": [(f"image_{k}_stim", f"image_{k}", positions[k - 1], "0.0", "") for k in range(1, n_images + 1)],
        "keyboard_start": "0.0",
        "begin_routine": "sim_answer = None\nif simulating:\n" + _SECOND_PROBABILITY.format(
            levels=", ".join(f"morph_{k}" for k in range(1, n_images + 1)), second=second),
        "coded": _MLDS_CODED,
        "simulation": SCALE_SIMULATION,
    }


# What each design puts on the screen and how the observer answers. Every random choice is one
# sim_rng.random() draw, in the order of the Coder protocols' simulated observers.
DESIGNS = {
    "identification": {
        "script": "identification.py",
        "images": [("stimulus", "image_file", (0, 0), "0.0", "")],
        "keyboard_start": "0.0",
        "begin_routine": """\
sim_answer = None
if simulating:
    if sim_rng.random() < sim_lapse:
        chose_b = sim_rng.random() < 0.5
    else:
        chose_b = sim_rng.random() < 1.0 / (1.0 + math.exp(-4.0 * sim_slope * (morph_level - sim_pse)))
    sim_answer = answer_keys['key_b'] if chose_b else answer_keys['key_a']
""",
        "coded": """\
coded = {'chose_b': None if answer is None else int(answer == answer_keys['key_b'])}
level = currentLoop.thisTrial.get('morph_level')  # a grid's trials carry u and v instead: no right answer
coded['correct'] = (None if coded['chose_b'] is None or level is None or level == 0.5
                    else int(coded['chose_b'] == (level > 0.5)))
thisExp.addData('chose_b', coded['chose_b'])
thisExp.addData('correct', coded['correct'])
""",
    },
    "2afc": {
        "script": "2afc.py",
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
    sim_answer = answer_keys['key_left'] if chose_left else answer_keys['key_right']
""",
        "coded": """\
side = None if answer is None else 'left' if answer == answer_keys['key_left'] else 'right'
coded = {'chosen_side': side, 'correct': None if side is None else int(side == correct_side)}
thisExp.addData('correct', coded['correct'])
""",
    },
    "abx": {
        "script": "abx.py",
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
    sim_answer = answer_keys['key_a'] if says_a else answer_keys['key_b']
""",
        "coded": """\
coded = {'answer': None if answer is None else 'A' if answer == answer_keys['key_a'] else 'B'}
coded['correct'] = None if answer is None else int(coded['answer'] == correct_answer)
thisExp.addData('answer', coded['answer'])
thisExp.addData('correct', coded['correct'])
""",
    },
    "same-different": {
        "script": "same_different.py",
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
    sim_answer = answer_keys['key_different'] if different else answer_keys['key_same']
""",
        "coded": """\
coded = {'said_different': None if answer is None else int(answer == answer_keys['key_different'])}
coded['correct'] = (None if answer is None else
                    int(('different' if answer == answer_keys['key_different'] else 'same') == correct_answer))
thisExp.addData('said_different', coded['said_different'])
thisExp.addData('correct', coded['correct'])
""",
    },
    "mlds-triads": _mlds("mlds_triads.py", 3),
    "mlds-quadruples": _mlds("mlds_quadruples.py", 4),
}


def file_name(design):
    return design.replace("-", "_") + ".psyexp"


def _each_frame(names):
    return (f"if frameN == 0:\n    clamp_to_edge({', '.join(names)})\n"
            "if simulating and key_resp.status == STARTED and t - key_resp.tStart >= sim_response_time:\n"
            "    sim_answered = True\n"
            "    continueRoutine = False  # the simulated observer answers: every display has been drawn\n"
            "if key_resp.status == FINISHED:\n"
            "    continueRoutine = False  # response_timeout passed without an answer\n")


def _end_routine(design, spec):
    onsets = ", ".join("'onset_%s': %s.tStartRefresh" % (column.replace("image_", ""), name)
                       for name, column, _, _, _ in spec["images"])
    return (
        "is_practice = currentLoop is practice_loop\n"
        "if simulating:\n"
        "    answer, answer_rt = (sim_answer if sim_answered else None), None\n"
        "else:\n"
        "    answer, answer_rt = key_resp.keys or None, key_resp.rt  # no key: response_timeout passed\n"
        "if answer is None:\n"
        "    answer_rt = None\n"
        "timed_out = answer is None\n"
        f"thisExp.addData('design', '{design}')\n"
        "thisExp.addData('is_practice', int(is_practice))\n"
        "thisExp.addData('response', answer)\n"
        "if answer_rt is not None:\n"
        "    thisExp.addData('rt', answer_rt)\n"
        + spec["coded"]
        + "thisExp.addData('timed_out', int(timed_out))\n"
        "thisExp.addData('simulated', simulating)\n"
        "number = currentLoop.thisN + 1\n"
        "break_now = not is_practice and break_due(number, break_every, n_trials)\n"
        "# The trial's row, written now (the ExperimentHandler saves only at the end).\n"
        "row = {'is_practice': int(is_practice), 'trial_number': number, **currentLoop.thisTrial,\n"
        "       'response': answer, 'rt': answer_rt, **coded, 'timed_out': int(timed_out),\n"
        f"       {onsets}, 'break_after': int(break_now),\n"
        "       'participant': expInfo['participant'], 'session': expInfo['session'], 'date': expInfo['date'],\n"
        "       'expName': expName, 'psychopyVersion': psychopyVersion, 'frameRate': expInfo.get('frameRate'),\n"
        "       'trial_file': os.path.basename(expInfo['trials']), 'set_manifest_sha256': set_manifest_sha256,\n"
        "       'key_mapping': key_mapping, **answer_keys, 'n_practice': n_practice, 'break_every': break_every,\n"
        "       'response_timeout': response_timeout, 'simulated': int(simulating)}\n"
        "trial_csv.write(thisExp.dataFileName + '.csv', row)\n"
        "# Feedback after practice trials, as the Coder protocols give it (none where there is no right answer).\n"
        "if not is_practice:\n"
        "    feedback_text = None\n"
        "elif timed_out:\n"
        "    feedback_text = texts.text('too_slow')\n"
        "elif coded.get('correct') is None:\n"
        "    feedback_text = None\n"
        "else:\n"
        "    feedback_text = texts.text('correct' if coded['correct'] else 'wrong')\n"
        "if break_now:\n"
        "    break_text = texts.text('break', trial=number)\n"
    )


def _screen(exp, name, text, skip_if="", stop="", each_frame=None, code=None):
    """A routine showing ``text`` (a variable): until SPACE, or for ``stop`` seconds (SPACE ends it early)."""
    routine = Routine(name, exp)
    exp.addRoutine(name, routine)
    routine.settings.params["skipIf"].val = skip_if
    components = [code or CodeComponent(exp, name, name=f"{name}_code", codeType="Py",
                                        eachFrame=each_frame or SCREEN_EACH_FRAME.format(name=name))]
    shown = TextComponent(exp, name, name=f"{name}_text_stim", text=f"${text}", letterHeight=0.032,
                          color="$text_colour", startVal=0.0, stopType="duration (s)", stopVal=stop)
    shown.params["wrapWidth"].val = 1.2
    shown.params["text"].updates = "set every repeat"
    components.append(shown)
    components.append(KeyboardComponent(exp, name, name=f"{name}_key", allowedKeys="'space'", store="nothing",
                                        forceEndRoutine=True, startVal=0.0, stopType="duration (s)", stopVal=stop))
    for component in components:
        routine.addComponent(component)
    return routine


def build(design):
    """The Builder experiment of ``design`` (a psychopy.experiment.Experiment)."""
    spec = DESIGNS[design]
    protocol = _protocol_module(spec["script"])
    exp = Experiment()
    settings = exp.settings.params
    settings["expName"].val = design
    settings["Units"].val = "height"
    settings["color"].val = "$[0,0,0]"
    info = {"participant": "P01", "session": "001", "trials": "trials.csv",
            "instructions": f"instructions/{design.replace('-', '_')}.txt",
            "practice": "0", "break_every": "0", "response_timeout": ""}
    if protocol.SWAPPABLE:
        info["key_mapping"] = ["standard", "swapped", "counterbalance"]  # a list: a drop-down, the first its default
    settings["Experiment info"].val = repr(info)
    settings["Full-screen window"].val = True
    settings["Save wide csv file"].val = False  # the observer component writes the CSV trial by trial
    settings["Save psydat file"].val = True
    settings["Save log file"].val = True
    settings["logging level"].val = "exp"  # the screens, the breaks, each display's onset, as the Coder protocols log

    # The instructions screen, whose code component also sets the session up.
    image_columns = [column for _, column, _, _, _ in spec["images"]]
    constants = (f"DESIGN = {design!r}\nKEYS = {tuple(protocol.KEYS)!r}  # {' and '.join(protocol.KEY_ROLES)}\n"
                 f"KEY_ROLES = {tuple(protocol.KEY_ROLES)!r}\nSWAPPABLE = {protocol.SWAPPABLE!r}\n"
                 f"IMAGE_COLUMNS = {image_columns!r}\n")
    rules = _shared_rules()
    if design.startswith("mlds"):
        import _mlds
        rules += ("\n\n# From protocols/_mlds.py: the simulated observer's scale.\n"
                  + inspect.getsource(_mlds.parse_scale))
    ease = f"# From protocols/{spec['script']}: larger is easier (the practice takes the easiest trials).\n"
    ease += inspect.getsource(protocol.ease)
    session = CodeComponent(
        exp, "instructions", name="session", codeType="Py",
        beforeExp=constants + BEFORE_EXPERIMENT.format(parse_simulation=spec.get("simulation", LABELLING_SIMULATION),
                                                       shared_rules=rules.rstrip("\n"), ease=ease),
        beginExp=BEGIN_EXPERIMENT, eachFrame=SCREEN_EACH_FRAME.format(name="start"),
    )
    instructions = _screen(exp, "instructions", "start_text", code=session)
    practice_intro = _screen(exp, "practice_intro", "practice_text", skip_if="not practice_rows")

    fixation = Routine("fixation", exp)
    exp.addRoutine("fixation", fixation)
    cross = TextComponent(exp, "fixation", name="cross", text="+", letterHeight=0.06, color="$text_colour",
                          startVal=0.0, stopType="duration (s)", stopVal="$fixation_duration")
    fixation.addComponent(cross)

    trial = Routine("trial", exp)
    exp.addRoutine("trial", trial)
    names = [name for name, _, _, _, _ in spec["images"]]
    begin = ("".join(f"{column}_path = os.path.join(trial_folder, *{column}.split('/'))\n" for column in image_columns)
             + "sim_answered = False\n" + spec["begin_routine"])
    observer = CodeComponent(exp, "trial", name="observer", codeType="Py", beginRoutine=begin,
                             eachFrame=_each_frame(names), endRoutine=_end_routine(design, spec))
    trial.addComponent(observer)
    for name, column, pos, start, stop in spec["images"]:
        image = ImageComponent(exp, "trial", name=name, image=f"${column}_path", pos=pos, size=(0.4, 0.4),
                               units="height", interpolate="linear", startVal=start, stopType="duration (s)",
                               stopVal=stop)
        image.params["image"].updates = "set every repeat"
        trial.addComponent(image)
    keys = KeyboardComponent(exp, "trial", name="key_resp", allowedKeys=", ".join(f"'{k}'" for k in protocol.KEYS),
                             store="last key", forceEndRoutine=True, startVal=spec["keyboard_start"],
                             stopType="duration (s)", stopVal="$answer_window")
    trial.addComponent(keys)

    feedback = _screen(exp, "feedback", "feedback_text", skip_if="feedback_text is None", stop="$feedback_duration")
    main_intro = _screen(exp, "main_intro", "main_text", skip_if="not practice_rows")
    pause = _screen(exp, "break_screen", "break_text", skip_if="not break_now", each_frame=BREAK_EACH_FRAME)
    end = _screen(exp, "end", "end_text", stop=5.0)

    for position, routine in enumerate([instructions, practice_intro, fixation, trial, feedback, main_intro,
                                        fixation, trial, pause, end]):
        exp.flow.addRoutine(routine, position)
    # The main loop first (its positions stay where they are when the practice loop is inserted before it).
    exp.flow.addLoop(TrialHandler(exp, name="trials", loopType="sequential", nReps=1,
                                  conditionsFile="$expInfo['trials']"), startPos=6, endPos=9)
    exp.flow.addLoop(TrialHandler(exp, name="practice_loop", loopType="sequential",
                                  nReps="1 if practice_rows else 0", conditionsFile="$expInfo['trials']",
                                  selectedRows="$practice_rows"), startPos=2, endPos=5)
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
