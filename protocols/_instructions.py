"""The texts a participant reads, from a file the experimenter can edit.

Every protocol ships a default in ``protocols/instructions/DESIGN.txt``; ``--instructions FILE``
runs another (a translation, other wording). The file is plain UTF-8 text:

- a line ``[name]`` starts a screen: ``start`` (before everything), ``practice`` (before the
  practice trials, with ``--practice``), ``main`` (after the practice, before the main trials),
  ``break`` (every ``--break-every`` trials), ``end``, and the feedback texts ``correct``,
  ``wrong`` and ``too_slow``;
- lines starting with ``#`` are notes for the experimenter and are not shown;
- words in braces are filled in: the keys in use, named by their role (``{key_a}``, ``{key_b}``,
  ``{key_same}``, ...: the protocol's docstring lists its roles), after ``--keys``,
  ``--swap-keys`` or ``--counterbalance`` have chosen them, so the text always names the keys
  the participant must press; ``{trial}`` and ``{n_trials}`` (on the break screen: trials done
  and trials in all), ``{n_practice}`` (the number of practice trials). ``{{`` and ``}}`` stand
  for a brace.

A file without any ``[name]`` line is the start screen alone; screens a file leaves out get the
English texts below. A misspelt screen name or placeholder stops the protocol before the window
opens, with the names it knows.
"""

import os
import re
import string

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "instructions")

# The screens a file may hold, with the texts used when it leaves them out.
DEFAULT_SCREENS = {
    "start": "Press SPACE to start.",
    "practice": "First, {n_practice} practice trials. After each one you will see whether your answer was right.\n\n"
                "Press SPACE to start the practice.",
    "main": "The practice is over. The experiment starts now.\n\nPress SPACE to start.",
    "break": "Time for a short break.\n\nYou have done {trial} of {n_trials} trials.\n\nPress SPACE to continue.",
    "end": "That is all. Thank you!\n\nPlease tell the experimenter that you have finished.",
    "correct": "Correct",
    "wrong": "Wrong",
    "too_slow": "Too slow",
}
# Screens that wait for the space bar.
SPACE_SCREENS = ("start", "practice", "main", "break")

# How a PsychoPy key name is written for a participant.
KEY_LABELS = {
    "left": "LEFT ARROW", "right": "RIGHT ARROW", "up": "UP ARROW", "down": "DOWN ARROW",
    "space": "SPACE", "return": "ENTER", "lshift": "LEFT SHIFT", "rshift": "RIGHT SHIFT",
    "lctrl": "LEFT CTRL", "rctrl": "RIGHT CTRL", "comma": "COMMA", "period": "FULL STOP", "slash": "SLASH",
}


def key_label(key):
    """``"left"`` -> ``"LEFT ARROW"``, ``"f"`` -> ``"F"``, ``"num_1"`` -> ``"NUM 1"``."""
    return KEY_LABELS.get(key, key.replace("_", " ").upper())


def default_file(design):
    """The instructions shipped for ``design`` (e.g. ``same-different`` -> ``same_different.txt``)."""
    return os.path.join(FOLDER, design.replace("-", "_") + ".txt")


def read_screens(path):
    """The file's screens, ``{name: text}`` (only those it holds); ValueError if it is malformed."""
    with open(path, encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()
    screens, name, body = {}, None, []
    header = re.compile(r"^\[([A-Za-z_]+)\]\s*$")

    def finish():
        text = "\n".join(body).strip("\n")
        if name is not None or text.strip():
            screens[name or "start"] = text

    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        match = header.match(line.strip())
        if match:
            finish()
            name, body = match.group(1), []
            if name not in DEFAULT_SCREENS:
                raise ValueError(f"{path}, line {number}: unknown screen [{name}]; the screens are "
                                 + ", ".join(f"[{known}]" for known in DEFAULT_SCREENS))
            if name in screens:
                raise ValueError(f"{path}, line {number}: screen [{name}] appears twice")
            continue
        body.append(line)
    finish()
    return screens


class Texts:
    """The screens of one session, with the keys filled in.

    Parameters
    ----------
    path : str
        The instructions file.
    keys : dict
        Role -> PsychoPy key name, e.g. ``{"key_a": "left", "key_b": "right"}``.
    n_trials, n_practice : int
    """

    def __init__(self, path, keys, n_trials, n_practice):
        self.path = path
        self.screens = {**DEFAULT_SCREENS, **read_screens(path)}
        self.values = {role: key_label(key) for role, key in keys.items()}
        self.values.update(n_trials=n_trials, n_practice=n_practice, trial=0)
        for name in self.screens:  # every placeholder is checked now, not mid-session
            self.text(name, trial=0)

    def text(self, name, **values):
        """The text of screen ``name`` with its placeholders filled in."""
        values = {**self.values, **values}
        template = self.screens[name]
        for _, field, _, _ in string.Formatter().parse(template):
            if field is not None and field not in values:
                raise ValueError(
                    f"{self.path}: screen [{name}] uses {{{field}}}, which is not one of "
                    + ", ".join("{%s}" % known for known in sorted(values))
                    + " (write {{ and }} for a brace)"
                )
        return template.format(**values)
