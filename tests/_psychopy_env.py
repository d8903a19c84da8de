"""PsychoPy in tests: windows under Xvfb, and a participant who presses keys.

PsychoPy tests skip where PsychoPy or Xvfb is missing, unless GAIA_STIM_REQUIRE_PSYCHOPY=1 (CI),
which turns a missing PsychoPy, xvfb-run or python-xlib into a failure instead of a silent skip.
"""

import contextlib
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

import pytest

REQUIRED = os.environ.get("GAIA_STIM_REQUIRE_PSYCHOPY") == "1"
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24"]


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason}, and GAIA_STIM_REQUIRE_PSYCHOPY=1 says these tests must run")
    pytest.skip(reason)


def need_psychopy():
    """Skip (or fail in CI) unless ``psychopy`` is importable."""
    if importlib.util.find_spec("psychopy") is None:
        _missing("PsychoPy is not installed (pip install -e '.[psychopy]')")


def need_display():
    """Skip (or fail in CI) unless PsychoPy and xvfb-run are there; return the command prefix."""
    need_psychopy()
    if shutil.which("xvfb-run") is None:
        _missing("xvfb-run is not installed (apt-get install xvfb)")
    return XVFB


def run_in_window(arguments, timeout=600, env=None, cwd=None):
    """Run ``python ARGUMENTS`` in a virtual X display; fail with its output if it fails."""
    command = need_display() + [sys.executable] + [str(a) for a in arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, cwd=cwd)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def need_xlib():
    """Skip (or fail in CI) unless Xvfb and python-xlib (which PsychoPy installs on Linux) are there."""
    need_display()
    if shutil.which("Xvfb") is None:
        _missing("Xvfb is not installed (apt-get install xvfb)")
    if importlib.util.find_spec("Xlib") is None:
        _missing("python-xlib is not installed (pip install python-xlib)")


@contextlib.contextmanager
def virtual_display(size="1024x768x24"):
    """A private Xvfb server for one test; yields its DISPLAY (``:N``), chosen by Xvfb itself."""
    need_xlib()
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        number = b""
        with os.fdopen(read_end, "rb") as pipe:
            while not number.endswith(b"\n"):
                byte = pipe.read(1)
                if not byte:
                    pytest.fail("Xvfb exited before it named its display")
                number += byte
        yield ":" + number.decode().strip()
    finally:
        server.terminate()
        server.wait(timeout=30)


# Keys that a person would press, for PsychoPy key names.
KEYSYMS = {"left": "Left", "right": "Right", "up": "Up", "down": "Down", "space": "space", "escape": "Escape",
           "return": "Return"}


class KeyPresser(threading.Thread):
    """Presses keys in a protocol's window as a participant would, prompted by the protocol's log.

    The protocols log (and flush) ``gaia-stim: LABEL: awaiting KEYS`` when a display that takes an
    answer appears, ``gaia-stim: NAME screen: awaiting space`` for a screen that waits for SPACE,
    and ``gaia-stim: LABEL: NAME onset`` for every display. ``plan(line)`` returns what to do about
    a log line: a list of ``(seconds after the line was read, key)``, or None. Keys go in through
    XTEST (real X key events, which PsychoPy's keyboard reads as it would a keyboard's).
    ``pressed`` lists ``(log line, key, time.monotonic() of the press)``. For programs that do not
    log so (Builder scripts), ``repeat=(seconds, keys)`` presses the keys in turn at that interval.
    """

    def __init__(self, display, log_folder, plan, repeat=None):
        super().__init__(daemon=True)
        self.display_name, self.log_folder, self.plan = display, pathlib.Path(log_folder), plan
        self.repeat = repeat  # (seconds, keys): press the keys in turn, one every so often, whatever the log says
        self.pressed, self.stopping, self.error = [], threading.Event(), None

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error

    def run(self):
        try:
            self._run()
        except Exception as error:  # reported by stop(), in the test's thread
            self.error = error

    def _run(self):
        from Xlib import X, XK, display
        from Xlib.ext import xtest

        connection = display.Display(self.display_name)
        focused, log, position, pending = False, None, 0, b""

        def press(key, line=""):
            code = connection.keysym_to_keycode(XK.string_to_keysym(KEYSYMS.get(key, key)))
            self.pressed.append((line, key, time.monotonic()))
            xtest.fake_input(connection, X.KeyPress, code)
            connection.sync()
            time.sleep(0.02)
            xtest.fake_input(connection, X.KeyRelease, code)
            connection.sync()

        while not self.stopping.is_set():
            if not focused:  # the protocol's window, once it is mapped (there is no window manager)
                for child in connection.screen().root.query_tree().children:
                    if child.get_attributes().map_state == X.IsViewable and child.get_geometry().width > 1:
                        child.set_input_focus(X.RevertToParent, X.CurrentTime)
                        connection.sync()
                        focused = True
            if self.repeat is not None:
                if focused:
                    seconds, keys = self.repeat
                    press(keys[len(self.pressed) % len(keys)])
                    time.sleep(seconds)
                else:
                    time.sleep(0.05)
                continue
            if log is None:
                logs = sorted(self.log_folder.glob("*.log"))
                log = logs[0] if logs else None
            lines = []
            if log is not None:
                with open(log, "rb") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                position += len(chunk)
                pending += chunk
                *complete, pending = pending.split(b"\n")
                lines = [line.decode("utf-8", "replace") for line in complete]
            for line in lines:
                actions = self.plan(line) if focused and "gaia-stim: " in line else None
                for delay, key in actions or ():
                    time.sleep(delay)
                    press(key, line)
            time.sleep(0.005)
        connection.close()
