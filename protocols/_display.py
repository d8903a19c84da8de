"""The window, its grey, the images, the keyboard and the frame-counted timing of the protocols.

Timing. Every duration is a whole number of frames of the measured refresh rate
(``win.getActualFrameRate()``; ``--frame-rate`` gives it instead, and 60 Hz stands in, with a
warning, when the measurement fails). A display of n frames is drawn and flipped n times; its
onset is the time of its first flip and its offset the time of the next display's first flip,
both as ``win.flip()`` returns them (PsychoPy's clock, the times in the ``.log`` file).

Keys. ``psychopy.hardware.keyboard.Keyboard``: its clock is reset and its buffer cleared on the
flip that shows the display the answer belongs to (``win.callOnFlip``), so reaction times count
from that display's onset, and a key pressed while it is still on the screen (X in ABX, the second
image in same-different) is the answer. Keys pressed earlier are discarded. Escape ends the session
from any screen.

Window grey. The window is filled with the grey the stimulus set's images stand on (see
:func:`set_background`; :func:`set_ground` reads it from a set's folder), so an image's square
edge, or a masked image's disc, does not show against it.
"""

import json
import os
import sys

import numpy as np

ESCAPE = "escape"
SPACE = "space"
FALLBACK_FRAME_RATE = 60.0
TEXT_HEIGHT = 0.032  # height units: about 25 px on a 768-pixel-high window
UNITS = ("height", "deg", "cm", "pix", "norm")


class Escaped(Exception):
    """Escape was pressed: the session ends and keeps its data."""


def frames(seconds, frame_rate):
    """Whole frames closest to ``seconds`` (at least one for any positive time)."""
    return 0 if seconds <= 0 else max(1, int(round(seconds * frame_rate)))


# The stimulus set's grey ---------------------------------------------------------------------------

def read_sidecar(trials_path):
    """The JSON file ``gaia-stim trials`` wrote beside the trial list, or None."""
    path = os.path.splitext(trials_path)[0] + ".json"
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_set_manifest(sidecar, trials_folder):
    """The stimulus set's manifest.json (via the sidecar's ``stimulus_set.folder``), or None."""
    folder = ((sidecar or {}).get("stimulus_set") or {}).get("folder")
    if not isinstance(folder, str):
        return None
    try:
        with open(os.path.join(trials_folder, *folder.split("/"), "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def border_colour(paths):
    """The median colour (0..1 RGB) of the outermost pixels of the images, and the share of those
    pixels within 6/255 of it in every channel."""
    from PIL import Image

    rings = []
    for path in paths:
        with Image.open(path) as opened:
            pixels = np.asarray(opened.convert("RGB"), dtype=np.float64) / 255.0
        rings.append(np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]))
    ring = np.concatenate(rings)
    median = np.median(ring, axis=0)
    share = float(np.mean(np.all(np.abs(ring - median) <= 6 / 255, axis=1)))
    return median, share


def _is_level(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def recorded_ground(manifest):
    """The grey a stimulus set's manifest records for its images' ground: ``(0..1 RGB, source)``, or None.

    A set written with a ``ground`` record: its ``level``, the grey the writer gave the ground (the
    8-bit value written); None where the level is null (the writer left the images' own ground,
    which need not be flat: measure the borders). A set written before: ``adjust.background`` when
    ``adjust.mask`` is set (the grey outside the mask) or ``adjust.figure.background_set`` is true
    (the grey of every ground pixel); None otherwise.
    """
    manifest = manifest if isinstance(manifest, dict) else {}
    ground = manifest.get("ground")
    if isinstance(ground, dict):
        if _is_level(ground.get("level")):
            return np.full(3, float(ground["level"])), "manifest (ground.level)"
        return None
    adjust = manifest.get("adjust")
    if isinstance(adjust, dict) and _is_level(adjust.get("background")):
        figure = adjust.get("figure")
        if adjust.get("mask") or (isinstance(figure, dict) and figure.get("background_set") is True):
            return np.full(3, float(adjust["background"])), "manifest (adjust.background)"
    return None


def set_ground(folder):
    """The window grey, ``[r, g, b]`` 0..1, that the stimulus set in ``folder`` records, or None.

    Read from the set's ``manifest.json`` by :func:`recorded_ground`. None when the manifest cannot
    be read or records no flat ground: then the images' borders tell the grey (:func:`border_colour`,
    as :func:`set_background` does).
    """
    try:
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    recorded = recorded_ground(manifest)
    return None if recorded is None else [float(value) for value in recorded[0]]


def set_background(option, manifest, image_paths):
    """The window's colour as 0..1 RGB, and where it came from.

    ``option`` is ``--background``: a grey level 0..1, or ``auto``. With ``auto``: the grey the
    set's manifest records for its ground (:func:`recorded_ground`); otherwise (a set whose writer
    left the model's own ground, or one without a manifest) the median colour of the images'
    outermost pixels when at least half of them are within 6/255 of it (a plain background, as
    faces on a grey ground); otherwise mid grey, and the images' edges will show.
    """
    if option != "auto":
        return np.full(3, float(option)), "--background"
    recorded = recorded_ground(manifest)
    if recorded is not None:
        return recorded
    median, share = border_colour(image_paths)
    if share >= 0.5:
        return median, "image borders (%.0f%% of border pixels)" % (100 * share)
    return np.full(3, 0.5), "mid grey (the images have no plain border: their edges will show)"


# Window and monitor --------------------------------------------------------------------------------

def make_monitor(args):
    """The monitor profile of ``--monitor`` / ``--distance-cm`` / ``--width-cm`` / ``--resolution``.

    A named profile must exist in PsychoPy's Monitor Center unless the other options define it
    here. ``deg`` units need a viewing distance and a screen width, ``cm`` a screen width; the
    window refuses to open without them rather than show images at a wrong size.
    """
    from psychopy import monitors

    name = args.monitor or "gaia-stim"
    defined_here = args.distance_cm is not None or args.width_cm is not None or args.resolution is not None
    if args.monitor and args.monitor not in monitors.getAllMonitors() and not defined_here:
        sys.exit("monitor %r is not in PsychoPy's Monitor Center (known: %s); define it there, or here with "
                 "--distance-cm, --width-cm and --resolution" % (args.monitor, ", ".join(monitors.getAllMonitors())))
    monitor = monitors.Monitor(name, autoLog=False)
    if args.distance_cm is not None:
        monitor.setDistance(args.distance_cm)
    if args.width_cm is not None:
        monitor.setWidth(args.width_cm)
    if args.resolution is not None:
        monitor.setSizePix(list(args.resolution))
    elif not monitor.getSizePix():
        monitor.setSizePix(list(args.window_size))
    needs = {"deg": ("getDistance", "getWidth"), "cm": ("getWidth",)}.get(args.units, ())
    missing = [method[3:].lower() for method in needs if not getattr(monitor, method)()]
    if missing:
        sys.exit("--units %s needs the monitor's %s: give --monitor NAME (a calibrated profile) or --distance-cm "
                 "and --width-cm" % (args.units, " and ".join(missing)))
    return monitor


def open_window(args, background):
    from psychopy import visual

    monitor = make_monitor(args)
    win = visual.Window(
        size=args.window_size, fullscr=args.fullscreen, units=args.units, monitor=monitor,
        color=[2 * value - 1 for value in background], colorSpace="rgb",
        allowGUI=not args.fullscreen, checkTiming=False,
    )
    win.mouseVisible = False
    if list(win.size) != list(monitor.getSizePix()) and args.units in ("deg", "cm"):
        from psychopy import logging

        logging.warning("the window is %s pixels but the monitor profile says %s: sizes in %s are wrong unless "
                        "--resolution is the screen's" % (list(win.size), monitor.getSizePix(), args.units))
    return win, monitor


def measure_frame_rate(win, given=None, skip=False):
    """``(rate used, rate measured or None)``; the rate used is ``given``, the measurement, or 60 Hz
    (also when ``skip``: --fast draws every display for one frame whatever the rate)."""
    from psychopy import logging

    if given:
        return float(given), None
    if skip:
        return FALLBACK_FRAME_RATE, None
    measured = win.getActualFrameRate(nIdentical=20, nMaxFrames=120, nWarmUpFrames=10, threshold=1,
                                      infoMsg=" ")
    if measured is None:
        logging.warning("could not measure a steady frame rate; timing assumes %g Hz" % FALLBACK_FRAME_RATE)
        return FALLBACK_FRAME_RATE, None
    return float(measured), float(measured)


def image_stim(win, image, size, mask="none", pos=(0, 0), units="height"):
    """An ImageStim of a file (or an ImageStim-ready array) ``size`` high, keeping its aspect ratio."""
    from PIL import Image
    from psychopy import visual

    if isinstance(image, str):
        with Image.open(image) as opened:
            width, height = opened.size
    else:
        height, width = np.shape(image)[:2]
    stim = visual.ImageStim(
        win, image=image, size=(size * width / height, size), pos=pos, units=units,
        mask=None if mask == "none" else mask, interpolate=True,
    )
    clamp_to_edge(stim)
    return stim


def clamp_to_edge(stim):
    """Sample beyond an ImageStim's edge from its edge pixels, not from transparent black.

    PsychoPy 2026.2 makes image and mask textures GL_CLAMP_TO_BORDER; with linear interpolation
    the outermost row of screen pixels then mixes the image with the (0, 0, 0, 0) border, which
    draws a dark line round every scaled image, a visible square on a matching grey.
    """
    from pyglet import gl as GL

    if stim._needTextureUpdate:
        stim.setImage(stim._imName, log=False)
    for texture in (stim._texID, stim._maskID):
        GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    GL.glBindTexture(GL.GL_TEXTURE_2D, 0)


def text_colour(win):
    """Black or white, whichever stands out from the window's grey."""
    grey = float(np.mean((np.asarray(win.color) + 1) / 2))
    return (-1, -1, -1) if grey > 0.5 else (1, 1, 1)


def text_stim(win, text, pos=(0, 0), height=TEXT_HEIGHT, wrap=1.2):
    """Text in height units (whatever the window's units), in :func:`text_colour`."""
    from psychopy import visual

    return visual.TextStim(win, text=text, pos=pos, height=height, wrapWidth=wrap, color=text_colour(win),
                           units="height", alignText="center", anchorHoriz="center")


# Keyboard --------------------------------------------------------------------------------------

class Keys:
    """``psychopy.hardware.keyboard.Keyboard``, read the same way on every backend.

    PsychoPy 2026.2's ``event`` backend (used where psychtoolbox's keyboard cannot start, e.g.
    without libjack) names a key ``[name, time]`` instead of ``name``, so a ``keyList`` never
    matches; keys are therefore read unfiltered and their names taken here.
    """

    def __init__(self):
        from psychopy.hardware import keyboard

        self.keyboard = keyboard.Keyboard()
        self.backend = self.keyboard.getBackend()

    def reset_on_flip(self, win):
        """On the next flip: the clock starts at 0 and keys pressed so far are discarded."""
        win.callOnFlip(self.keyboard.clock.reset)
        win.callOnFlip(self.keyboard.clearEvents)

    def time(self):
        return self.keyboard.clock.getTime()

    def pressed(self):
        """``[(name, seconds since the last reset)]`` of the keys pressed since the last call."""
        presses = []
        for key in self.keyboard.getKeys(waitRelease=False):
            name = key.name[0] if isinstance(key.name, (list, tuple)) else key.name
            presses.append((name, key.rt))
        return presses


# Display ---------------------------------------------------------------------------------------

class Display:
    """Draws a trial's displays frame by frame, times them, and takes the answer.

    The protocols' ``run_trial`` uses :meth:`image`, :meth:`show`, :meth:`blank` and, for a
    person, :meth:`response`. Each display with images is given the next name of the protocol's
    ``SHOWN`` (its onset and offset go into the data as ``onset_NAME``, ``offset_NAME``); keys
    count from the onset of the display named ``ANSWER_FROM``.
    """

    def __init__(self, win, args, folder, frame_rate, keys, shown, answer_from, screenshots=None):
        from psychopy import logging, visual

        self.win, self.args, self.folder, self.frame_rate, self.keys = win, args, folder, frame_rate, keys
        self.shown, self.answer_from, self.screenshots = tuple(shown), answer_from, screenshots
        self.logging = logging
        self.cache = {}
        self.fixation = visual.TextStim(win, text="+", height=0.06, units="height", color=text_colour(win))
        self.begin_trial(None, "")

    # trial bookkeeping
    def begin_trial(self, answer_keys, label):
        self.answer_keys, self.label = answer_keys, label
        self.pending = list(self.shown)
        self.times = {}
        self.open_name = None
        self.answer = None
        self.window_open = False

    def timing(self):
        """``{onset_NAME: t, offset_NAME: t}`` for every name of ``SHOWN`` (None where not shown)."""
        row = {}
        for name in self.shown:
            onset, offset = self.times.get(name, (None, None))
            row["onset_" + name], row["offset_" + name] = onset, offset
        return row

    def _flipped(self, time, name=None, n_frames=None):
        """Record a flip at ``time`` that starts the display ``name`` (None: no new image) of ``n_frames``."""
        if self.open_name is not None and name != self.open_name:
            self.times[self.open_name] = (self.times[self.open_name][0], time)
            self.open_name = None
        if name is not None:
            self.times[name] = (time, None)
            self.open_name = name
            self.logging.exp("gaia-stim: %s: %s onset, %d frames" % (self.label, name, n_frames), t=time)
            if name == self.answer_from and self.answer_keys:
                self.window_open = True
                self.logging.exp("gaia-stim: %s: awaiting %s" % (self.label, ", ".join(self.answer_keys)), t=time)
            self.logging.flush()

    def poll(self):
        """Escape ends the session; the first answer key after the answer display's onset is the answer."""
        for name, rt in self.keys.pressed():
            if name == ESCAPE:
                self.logging.exp("gaia-stim: escape pressed")
                raise Escaped()
            if self.window_open and self.answer is None and name in (self.answer_keys or ()):
                self.answer = (name, rt)
                self.logging.exp("gaia-stim: %s: key %s, rt %.4f" % (self.label, name, rt))

    def capture(self, name):
        """Save the back buffer (what the next flip shows) as SCREENSHOTS/NAME.png, once per name."""
        if self.screenshots is None:
            return
        path = os.path.join(self.screenshots, name + ".png")
        if not os.path.exists(path):
            frame = self.win.getMovieFrame(buffer="back")
            self.win.movieFrames = []
            frame.save(path)

    # what run_trial calls
    def image(self, relative_path, pos=(0, 0)):
        path = os.path.join(self.folder, *str(relative_path).split("/"))
        if path not in self.cache:
            if not os.path.isfile(path):
                sys.exit("image %r of the trial list does not exist (paths are relative to the trial file)" % path)
            self.cache[path] = image_stim(self.win, path, self.args.size, self.args.mask, units=self.args.units)
        stim = self.cache[path]
        stim.pos = pos
        return stim

    def show(self, stims, seconds):
        """Draw ``stims`` for ``seconds`` in frames (one frame with --fast; one frame, staying up until the
        next flip, for 0). After the answer only an empty display is still drawn, to clear the screen."""
        if self.answer is not None and stims:
            return
        name = None
        if stims:
            if not self.pending:
                raise RuntimeError("the protocol shows more displays than its SHOWN names")
            name = self.pending.pop(0)
            if name == self.answer_from and self.answer_keys:
                self.keys.reset_on_flip(self.win)
        n = 1 if self.args.fast else max(1, frames(seconds, self.frame_rate))
        for frame in range(n):
            for stim in stims:
                stim.draw()
            if frame == 0 and name is not None:
                self.capture("stimulus_" + name)
            time = self.win.flip()
            if frame == 0:
                self._flipped(time, name, n)
            self.poll()
            if self.answer is not None:
                return

    def blank(self, seconds):
        if seconds > 0 and not self.args.fast:
            self.show([], seconds)

    def response(self, stims, timeout=None):
        """The answer ``(key, rt)``, drawing ``stims`` until it comes; ``(None, None)`` after ``timeout``
        seconds from the answer display's onset."""
        while self.answer is None:
            if timeout is not None and self.keys.time() >= timeout:
                self.logging.exp("gaia-stim: %s: no answer within %g s" % (self.label, timeout))
                return None, None
            for stim in stims:
                stim.draw()
            time = self.win.flip()
            if not stims and self.open_name is not None:
                self._flipped(time)
            self.poll()
        return self.answer

    # between trials
    def clear(self):
        """One blank frame: ends the last display of a trial (its offset)."""
        self._flipped(self.win.flip())
        self.poll()

    def fixate(self):
        if self.args.fixation > 0 and not self.args.fast:
            n = frames(self.args.fixation, self.frame_rate)
            for frame in range(n):
                self.fixation.draw()
                if frame == 0:
                    self.capture("fixation")
                self.win.flip()
                self.poll()

    def message(self, name, stims, seconds=None, simulate=False):
        """A screen of ``stims``: for ``seconds``, or until SPACE (None). Simulated sessions go on by
        themselves (after one frame with --fast, one second otherwise)."""
        if simulate and seconds is None:
            seconds = 0.0 if self.args.fast else 1.0
        if seconds is None:
            self.keys.reset_on_flip(self.win)
        n = 1 if self.args.fast or seconds is None else max(1, frames(seconds, self.frame_rate))
        frame = 0
        while True:
            for stim in stims:
                stim.draw()
            if frame == 0:
                self.capture(name)
            self.win.flip()
            if frame == 0 and seconds is None:
                self.logging.exp("gaia-stim: %s screen: awaiting space" % name)
                self.logging.flush()
            frame += 1
            for key, _ in self.keys.pressed():
                if key == ESCAPE:
                    self.logging.exp("gaia-stim: escape pressed")
                    raise Escaped()
                if key == SPACE and seconds is None:
                    return
            if seconds is not None and frame >= n:
                return
