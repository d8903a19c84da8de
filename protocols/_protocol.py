"""What the four gaia-stim protocols share: options, the session, the observer, the data files.

The protocols (identification.py, 2afc.py, abx.py, same_different.py) need PsychoPy and numpy
only, not gaia-stim. Each reads a trial CSV written by ``gaia-stim trials`` (columns by name, so
new columns do not disturb it) and runs it in the file's order, which the seed chose. Image paths
in the CSV are relative to the CSV.

A session: the start screen (instructions from a text file, see ``_instructions.py``; SPACE
starts), optionally ``--practice N`` trials with feedback, the main trials (feedback with
``--feedback``, a break screen every ``--break-every`` trials, a deadline with
``--response-timeout``), the end screen. Timing, keys and the window's grey are
``_display.py``'s.

Data, in ``--data-dir`` as PARTICIPANT_DESIGN_SESSION_DATE.*:

- ``.csv``: one row per finished trial, written and flushed as the trial ends (practice trials
  too, with ``is_practice`` = 1), so Escape, a crash or SIGTERM keeps every finished trial. Each
  row holds the trial list's columns, the answer (``response``, ``rt`` from the onset of the
  display the answer belongs to, ``timed_out``, the coded answer), the onsets and offsets of the
  displays, and the session's information: PsychoPy's ``date``, ``expName``, ``frameRate``,
  ``psychopyVersion``, ``participant``, ``session``, the key mapping, and the sha256 of the trial
  list and of the stimulus set's manifest and table (from the trial list's JSON file).
- ``.psydat``: PsychoPy's ExperimentHandler with the same rows, saved when the session ends (also
  after Escape or SIGTERM).
- ``.log``: PsychoPy's log (``logging.LogFile``, level EXP): every screen, onset and key.

Simulated observer (``--simulate``): every image shown gets a covert label, "B" with probability
F(x) = 1 / (1 + exp(-4 slope (x - pse))) of its morph level x, and the answer follows from the
labels (guessing when they do not decide); with probability ``lapse`` the answer is a coin flip
instead. This is the model ``gaia-stim analyze`` fits (each design's record in
``gaia_stim.designs.records`` states its response probability; tests/test_design_records.py checks
every protocol's observer against it exactly), so a run with a known pse and slope checks the whole
chain. The observer is drawn here, not imported, because the protocols run without gaia-stim.

A protocol with an observer of its own (the MLDS protocols, through ``_mlds.py``) also defines
``add_simulation_options(group)``, ``check_simulation_options(parser, args)``,
``simulation_info(args)`` and ``simulated_observer(args)``, which replace the labelling observer's
``--sim-pse``, ``--sim-slope`` and ``--sim-lapse``.

A protocol module defines ``DESIGN``, ``KEYS`` (default keys) and ``KEY_ROLES`` (their names in the
instructions and the data), ``SWAPPABLE``, ``IMAGE_DURATION`` (default ``--duration``),
``SHOWN`` and ``ANSWER_FROM`` (see ``_display.Display``), ``IMAGES`` (its image and level columns),
``ENDPOINT_LABELS`` (labels of the two end images on the start screen, or None), ``ease(trial)``
(larger is easier: practice takes the easiest trials) and ``run_trial(display, trial, args,
observer)``, which returns the trial's data (with ``response`` None after a timeout and ``correct``
1, 0 or None for the feedback), and calls ``_protocol.run(module)``.
"""

import argparse
import hashlib
import math
import os
import re
import signal
import sys

import numpy as np

import _display
import _instructions

TERMINATED_STATUS = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: the session ends and keeps its data (a BaseException, as KeyboardInterrupt
    is, so no ``except Exception`` on the way swallows it)."""


# Options ---------------------------------------------------------------------------------------

def _positive(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("must be a positive number of seconds; got %r" % text)
    return value


def _seconds(text):
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError("must be a number of seconds >= 0; got %r" % text)
    return value


def _count(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be a whole number >= 0; got %r" % text)
    return value


def _background(text):
    if text == "auto":
        return text
    value = float(text)
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError("must be 'auto' or a grey level from 0 (black) to 1 (white); got %r" % text)
    return value


def build_parser(protocol):
    """The protocol's options (built without PsychoPy, so ``--help`` shows them)."""
    roles = " and ".join(role for role in protocol.KEY_ROLES)
    doc = protocol.__doc__ or ""
    parser = argparse.ArgumentParser(
        prog=os.path.basename(getattr(protocol, "__file__", protocol.DESIGN)), description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("trials", help="trial CSV written by 'gaia-stim trials --design %s'" % protocol.DESIGN)

    group = parser.add_argument_group("session")
    group.add_argument("--participant", default="P01", help="participant id (goes into every row) [P01]")
    group.add_argument("--session", default="001", help="session id (goes into every row) [001]")
    group.add_argument("--data-dir", default="data", help="folder for the data files [data]")
    group.add_argument(
        "--instructions", metavar="FILE", default=_instructions.default_file(protocol.DESIGN),
        help="text of the start, practice, break, end and feedback screens [protocols/instructions/%s.txt]; "
             "copy and edit that file for other wording" % protocol.DESIGN.replace("-", "_"),
    )
    group.add_argument(
        "--practice", type=_count, default=0, metavar="N",
        help="N practice trials with feedback before the main trials: the N easiest trials of the list "
             "(%s), in the list's order [0]" % protocol.EASE,
    )
    group.add_argument("--feedback", action="store_true",
                       help="feedback after every main trial too (practice trials always get it)")
    group.add_argument("--feedback-duration", type=_seconds, default=0.75, metavar="S",
                       help="how long feedback is shown, s [0.75]")
    group.add_argument("--break-every", type=_count, default=0, metavar="N",
                       help="a break screen (trials done of all, SPACE continues) every N main trials [0: none]")
    group.add_argument("--response-timeout", type=_positive, default=None, metavar="S",
                       help="answer within S seconds of the onset of the display the answer belongs to, else "
                            "the trial is recorded as timed out (response empty, timed_out 1) [no limit]")

    group = parser.add_argument_group("keys")
    group.add_argument("--keys", nargs=2, metavar=tuple(key.upper() for key in protocol.KEY_ROLES),
                       help="answer keys, PsychoPy names (e.g. f j) [%s]" % " ".join(protocol.KEYS))
    if protocol.SWAPPABLE:
        group.add_argument("--swap-keys", action="store_true", help="swap the two answer keys (%s)" % roles)
        group.add_argument(
            "--counterbalance", action="store_true",
            help="swap the keys for even participant numbers (the digits of --participant: P01 keeps "
                 "them, P02 swaps them); the mapping is recorded in key_mapping",
        )

    group = parser.add_argument_group("display")
    group.add_argument("--units", choices=_display.UNITS, default="height",
                       help="units of --size: height (of the window), deg (visual angle; needs a monitor), cm, "
                            "pix, norm [height]")
    group.add_argument("--size", type=float, default=None,
                       help="image height in --units (aspect kept) [0.4 in height units; required otherwise]")
    group.add_argument("--monitor", metavar="NAME",
                       help="monitor profile from PsychoPy's Monitor Center (its distance, width and resolution)")
    group.add_argument("--distance-cm", type=float, metavar="CM", help="viewing distance, cm (defines or overrides)")
    group.add_argument("--width-cm", type=float, metavar="CM", help="width of the screen's image, cm")
    group.add_argument("--resolution", type=int, nargs=2, metavar=("W", "H"),
                       help="the screen's resolution, pixels [--window-size]")
    group.add_argument("--background", type=_background, default="auto", metavar="GREY",
                       help="window grey, 0 (black) to 1 (white); auto: the grey the stimulus set's images stand "
                            "on (its manifest's ground level, else the images' plain border) [auto]")
    group.add_argument("--mask", default="none", choices=["none", "circle", "gauss", "raisedCos"],
                       help="aperture of the images [none]")
    group.add_argument("--fixation", type=_seconds, default=0.5, metavar="S",
                       help="fixation cross before each trial, s [0.5]")
    group.add_argument("--duration", type=_seconds, default=protocol.IMAGE_DURATION, metavar="S",
                       help="how long each image is shown, s (0: until the answer) [%g]" % protocol.IMAGE_DURATION)
    group.add_argument("--isi", type=_seconds, default=0.5, metavar="S",
                       help="blank between images shown one after the other, s [0.5]")
    group.add_argument("--frame-rate", type=_positive, default=None, metavar="HZ",
                       help="refresh rate for converting durations to frames [measured with "
                            "win.getActualFrameRate(); %g if that fails]" % _display.FALLBACK_FRAME_RATE)
    group.add_argument("--window-size", type=int, nargs=2, default=[1024, 768], metavar=("W", "H"))
    group.add_argument("--fullscreen", action="store_true")
    group.add_argument("--screenshots", metavar="DIR",
                       help="save the first frame of every kind of screen (start, stimulus_*, feedback, ...) "
                            "as DIR/NAME.png, read back from the window")

    group = parser.add_argument_group("simulated observer (tests and demonstrations)")
    group.add_argument("--simulate", action="store_true", help="answer with a simulated observer")
    if hasattr(protocol, "add_simulation_options"):  # an observer of its own (MLDS: a perceptual scale)
        protocol.add_simulation_options(group)
    else:
        group.add_argument("--sim-pse", type=float, default=0.5, help="simulated observer's PSE [0.5]")
        group.add_argument("--sim-slope", type=float, default=4.0,
                           help="simulated observer's slope dF/dx at the PSE [4]")
        group.add_argument("--sim-lapse", type=float, default=0.02, help="simulated observer's lapse rate [0.02]")
    group.add_argument("--sim-seed", type=int, default=0, help="seed of the simulated observer [0]")
    group.add_argument("--fast", action="store_true",
                       help="draw every display for one frame and skip all waits (with --simulate, for tests)")
    return parser


def participant_number(participant):
    """The number in a participant id (``P07`` -> 7), or None."""
    digits = re.findall(r"\d+", participant)
    return int(digits[-1]) if digits else None


def counterbalanced_mapping(number):
    """The key mapping ``--counterbalance`` gives participant number ``number``: ``standard`` (the
    keys as they are) for odd numbers, ``swapped`` for even ones. make_psyexp.py copies this rule
    into the Builder files."""
    return "standard" if number % 2 else "swapped"


def parse_arguments(protocol, argv=None):
    parser = build_parser(protocol)
    args = parser.parse_args(argv)
    if args.fast and not args.simulate:
        parser.error("--fast needs --simulate: a person cannot answer one-frame trials")
    if hasattr(protocol, "check_simulation_options"):
        protocol.check_simulation_options(parser, args)
    elif not 0 <= args.sim_lapse <= 1 or args.sim_slope <= 0:
        parser.error("--sim-lapse must be in [0, 1] and --sim-slope positive")
    if re.search(r"[\\/:*?\"<>|]", args.participant + args.session) or not args.participant.strip():
        parser.error("--participant and --session go into file names: no / \\ : * ? \" < > |")
    if args.size is None:
        if args.units != "height":
            parser.error("give --size in %s (the image height); 0.4 is the default only in height units" % args.units)
        args.size = 0.4
    if args.size <= 0:
        parser.error("--size must be positive")
    if not os.path.isfile(args.instructions):
        parser.error("--instructions %r does not exist" % args.instructions)

    keys = tuple(args.keys or protocol.KEYS)
    if len(set(keys)) != 2 or set(keys) & {_display.SPACE, _display.ESCAPE}:
        parser.error("--keys must be two different keys, neither space (continues screens) nor escape (ends)")
    args.key_mapping = "standard"
    if getattr(args, "counterbalance", False):
        if args.swap_keys:
            parser.error("--counterbalance chooses the mapping from the participant number; leave out --swap-keys")
        number = participant_number(args.participant)
        if number is None:
            parser.error("--counterbalance needs a number in --participant (e.g. P07); got %r" % args.participant)
        args.key_mapping = counterbalanced_mapping(number)
    elif getattr(args, "swap_keys", False):
        args.key_mapping = "swapped"
    args.keys = keys[::-1] if args.key_mapping == "swapped" else keys
    return args


# Simulated observer ----------------------------------------------------------------------------

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


# Trial list --------------------------------------------------------------------------------------

def load_trials(path, design):
    """The trial list (rows, column names) and the folder its image paths are relative to."""
    from psychopy import data

    if not os.path.isfile(path):
        sys.exit("trial file %r does not exist; write one with 'gaia-stim trials'" % path)
    conditions, columns = data.importConditions(path, returnFieldNames=True)
    found = {str(row.get("design")) for row in conditions}
    if found != {design}:
        sys.exit("%r holds %s trials; this protocol runs %s trials" % (path, ", ".join(sorted(found)), design))
    return conditions, list(columns), os.path.dirname(os.path.abspath(path))


def practice_trials(conditions, n, ease):
    """The ``n`` easiest trials (largest ``ease``), in the list's order (ties: the earliest)."""
    by_ease = sorted(range(len(conditions)), key=lambda index: -ease(conditions[index]))
    return [conditions[index] for index in sorted(by_ease[:n])]


def endpoint_images(conditions, image_columns):
    """The relative paths of the images with the lowest and the highest level in the list (None
    for a list without the level columns, e.g. a grid's)."""
    levels = {}
    for trial in conditions:
        for image, level in image_columns:
            if image in trial and level in trial:
                levels[trial[image]] = trial[level]
    return (min(levels, key=levels.get), max(levels, key=levels.get)) if levels else None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Data file -------------------------------------------------------------------------------------

class DataFile:
    """The session's CSV: one row per finished trial, on disk as soon as the trial ends.

    The file is opened line-buffered, so each row reaches the operating system when it is
    written; a crash, Escape or SIGTERM loses at most the trial in progress. UTF-8 with a
    byte-order mark, as PsychoPy writes its CSVs (Excel reads the encoding from it).
    """

    def __init__(self, path):
        self.path, self.handle, self.writer, self.rows = path, None, None, 0

    @staticmethod
    def _cell(value):
        if value is None:
            return ""
        if isinstance(value, (bool, np.bool_)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return repr(float(value))
        return value

    def write(self, row):
        import csv

        if self.writer is None:
            self.handle = open(self.path, "x", newline="", encoding="utf-8-sig", buffering=1)
            self.writer = csv.DictWriter(self.handle, fieldnames=list(row), lineterminator="\n")
            self.writer.writeheader()
        self.writer.writerow({name: self._cell(value) for name, value in row.items()})
        self.rows += 1

    def close(self):
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None


# The session -----------------------------------------------------------------------------------

def session_info(args, protocol, date, sidecar, frame_rate, measured, background, source, monitor, keys):
    """The columns every row carries: PsychoPy's standard fields and what the session ran with."""
    import psychopy

    stimulus_set = (sidecar or {}).get("stimulus_set") or {}
    info = {
        "participant": args.participant,
        "session": args.session,
        "date": date,
        "expName": protocol.DESIGN,
        "psychopyVersion": psychopy.__version__,
        "frameRate": round(frame_rate, 3),
        "frame_rate_measured": None if measured is None else round(measured, 3),
        "protocol": os.path.basename(protocol.__file__),
        "trial_file": os.path.basename(args.trials),
        "trial_list_sha256": file_sha256(args.trials),
        "set_manifest_sha256": stimulus_set.get("manifest_sha256"),
        "set_table_sha256": stimulus_set.get("table_sha256"),
        "instructions_file": os.path.basename(args.instructions),
        "key_mapping": args.key_mapping,
        "keyboard_backend": keys.backend,
        "units": args.units,
        "image_size": args.size,
        "monitor": monitor.name,
        "monitor_distance_cm": monitor.getDistance(),
        "monitor_width_cm": monitor.getWidth(),
        "background": " ".join("%.4f" % value for value in background),
        "background_source": source,
        "response_timeout": args.response_timeout,
        "feedback": int(args.feedback),
        "simulated": int(args.simulate),
    }
    if args.simulate and hasattr(protocol, "simulation_info"):
        info.update(protocol.simulation_info(args))
    elif args.simulate:
        info.update(sim_pse=args.sim_pse, sim_slope=args.sim_slope, sim_lapse=args.sim_lapse, sim_seed=args.sim_seed)
    return info


def check_provenance(trials_path, sidecar, manifest_path, warn):
    """Warn when the trial list or the stimulus set changed since ``gaia-stim trials`` wrote the list."""
    if sidecar is None:
        warn("no JSON file beside %s: the data cannot name the stimulus set (write the list with "
             "'gaia-stim trials')" % trials_path)
        return
    recorded = (sidecar.get("trial_file") or {}).get("sha256")
    if recorded and recorded != file_sha256(trials_path):
        warn("%s differs from the list 'gaia-stim trials' wrote (its sha256 is not the JSON file's)" % trials_path)
    recorded = (sidecar.get("stimulus_set") or {}).get("manifest_sha256")
    if recorded and manifest_path and os.path.isfile(manifest_path) and file_sha256(manifest_path) != recorded:
        warn("the stimulus set's manifest changed since the trial list was written")


def run(protocol):
    """Run a session of ``protocol`` (a protocol module; see the module docstring) and exit."""
    args = parse_arguments(protocol)  # before PsychoPy is imported, which parses sys.argv for itself
    try:
        texts_check = _instructions.Texts(args.instructions, dict(zip(protocol.KEY_ROLES, args.keys)), 0, 0)
    except ValueError as error:
        sys.exit(str(error))
    del texts_check
    sys.argv[1:] = []  # PsychoPy's preferences parser reads sys.argv on import
    from psychopy import data, logging

    logging.console.setLevel(logging.ERROR)
    conditions, columns, folder = load_trials(args.trials, protocol.DESIGN)
    missing = [name for pair in protocol.IMAGES for name in pair if name not in columns]
    if [name for name in missing if name.startswith("image")] or (args.simulate and missing):
        sys.exit("%r has no %s column; the %s protocol%s needs it" % (
            args.trials, ", ".join(missing), protocol.DESIGN, "'s simulated observer" if args.simulate else ""))
    practice = practice_trials(conditions, args.practice, protocol.ease) if args.practice else []
    texts = _instructions.Texts(args.instructions, dict(zip(protocol.KEY_ROLES, args.keys)),
                                n_trials=len(conditions), n_practice=len(practice))
    sidecar = _display.read_sidecar(args.trials)
    manifest = _display.read_set_manifest(sidecar, folder)
    image_paths = sorted({os.path.join(folder, *str(trial[image]).split("/"))
                          for trial in conditions for image, _ in protocol.IMAGES if image in trial})
    missing = [path for path in image_paths if not os.path.isfile(path)]
    if missing:
        sys.exit("image %r of the trial list does not exist (paths are relative to the trial file)" % missing[0])
    background, background_source = _display.set_background(args.background, manifest, image_paths)

    os.makedirs(args.data_dir, exist_ok=True)
    date = data.getDateStr(format="%Y-%m-%d_%Hh%M.%S.%f")  # PsychoPy's expInfo['date']
    stem = os.path.join(args.data_dir, "%s_%s_%s_%s" % (args.participant, protocol.DESIGN, args.session, date))
    logging.LogFile(stem + ".log", level=logging.EXP, filemode="w")
    warnings = []

    def warn(message):
        warnings.append(message)
        logging.warning("gaia-stim: " + message)

    set_folder = (sidecar or {}).get("stimulus_set", {}).get("folder") if sidecar else None
    check_provenance(args.trials, sidecar,
                     os.path.join(folder, *set_folder.split("/"), "manifest.json") if set_folder else None, warn)
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)

    # SIGTERM (a scheduler, `kill`) ends the session like Escape: rows are on disk, the rest is saved below.
    def terminate(signum, frame):
        raise Terminated()

    previous_handler = signal.signal(signal.SIGTERM, terminate)
    win = None
    data_file = DataFile(stem + ".csv")
    experiment = None
    status, finished = "crashed", 0
    try:
        win, monitor = _display.open_window(args, background)
        frame_rate, measured = _display.measure_frame_rate(win, args.frame_rate, skip=args.fast)
        keys = _display.Keys()
        info = session_info(args, protocol, date, sidecar, frame_rate, measured, background, background_source,
                            monitor, keys)
        experiment = data.ExperimentHandler(
            name=protocol.DESIGN, extraInfo=info, originPath=os.path.abspath(protocol.__file__),
            savePickle=False, saveWideText=False, dataFileName=stem,
        )
        logging.exp("gaia-stim: %s session of %s, %d trials (%d practice); frame rate %.3f Hz (%s); window grey "
                    "%s (%s)" % (protocol.DESIGN, args.participant, len(conditions), len(practice), frame_rate,
                                 "measured" if measured else "assumed" if not args.frame_rate else "--frame-rate",
                                 info["background"], background_source))
        print("%s: %d trials%s; frame rate %.1f Hz%s; window grey %s (%s); data: %s.csv" % (
            protocol.DESIGN, len(conditions), " + %d practice" % len(practice) if practice else "", frame_rate,
            "" if measured or args.frame_rate else " (not measured: assumed)", info["background"],
            background_source, stem))
        for message in warnings:
            print("warning: " + message, file=sys.stderr)
        display = _display.Display(win, args, folder, frame_rate, keys, protocol.SHOWN, protocol.ANSWER_FROM,
                                   args.screenshots)
        if not args.simulate:
            observer = None
        elif hasattr(protocol, "simulated_observer"):
            observer = protocol.simulated_observer(args)
        else:
            observer = SimulatedObserver(args.sim_pse, args.sim_slope, args.sim_lapse, args.sim_seed)
        session = Session(protocol, args, display, texts, observer, data_file, experiment, info, win)

        endpoints = None
        if protocol.ENDPOINT_LABELS:
            endpoints = endpoint_images(conditions, protocol.IMAGES)
        session.screen("start", endpoints=endpoints)
        if practice:
            session.screen("practice")
            for number, trial in enumerate(practice, 1):
                session.trial(trial, number, len(practice), is_practice=True)
            session.screen("main")
        for number, trial in enumerate(conditions, 1):
            session.trial(trial, number, len(conditions), is_practice=False)
            finished = number
            if args.break_every and number % args.break_every == 0 and number < len(conditions):
                session.screen("break", trial=number)
        status = "completed"
        session.screen("end")
    except _display.Escaped:
        status = "completed" if finished == len(conditions) else "ended with escape"
    except Terminated:
        status = "stopped by SIGTERM"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the saving short
        data_file.close()
        if experiment is not None:
            experiment.saveAsPickle(stem)
            experiment.abort()  # saved: nothing more to save at exit
        logging.exp("gaia-stim: session %s after %d of %d main trials" % (status, finished, len(conditions)))
        logging.flush()
        if win is not None:
            win.close()
        signal.signal(signal.SIGTERM, previous_handler)
    saved = "%s.csv (%d rows)" % (stem, data_file.rows) if data_file.rows else "no trial finished, no .csv"
    print("session %s after %d of %d trials; saved %s, %s.psydat, %s.log" % (
        status, finished, len(conditions), saved, stem, stem))
    sys.exit(TERMINATED_STATUS if status == "stopped by SIGTERM" else 0)


class Session:
    """Screens and trials of one session, each trial's row written as it ends."""

    def __init__(self, protocol, args, display, texts, observer, data_file, experiment, info, win):
        self.protocol, self.args, self.display, self.texts = protocol, args, display, texts
        self.observer, self.data_file, self.experiment, self.info, self.win = (
            observer, data_file, experiment, info, win)
        self.text_stims = {}

    def text_stim(self, text, pos=(0, 0), height=_display.TEXT_HEIGHT):
        """A TextStim, made once per text (making one takes tens of milliseconds)."""
        key = (text, tuple(pos), height)
        if key not in self.text_stims:
            self.text_stims[key] = _display.text_stim(self.win, text, pos=pos, height=height)
        return self.text_stims[key]

    def screen(self, name, trial=0, endpoints=None, seconds=None):
        """A text screen from the instructions file (the start screen with the end images, if any)."""
        text = self.texts.text(name, trial=trial)
        stims = [self.text_stim(text, pos=(0, 0.17 if endpoints else 0))]
        if endpoints:
            for endpoint, label, x in zip(endpoints, self.protocol.ENDPOINT_LABELS, (-0.22, 0.22)):
                stim = _display.image_stim(self.win, os.path.join(self.display.folder, *endpoint.split("/")), 0.2,
                                           self.args.mask, pos=(x, -0.22))
                stims += [stim, self.text_stim(label.format(**self.texts.values), pos=(x, -0.36))]
        self.display.message(name, stims, seconds=seconds, simulate=self.observer is not None)

    def feedback(self, correct, timed_out):
        if timed_out:
            name = "too_slow"
        elif correct is None:
            return  # no right answer (identification at the middle of the continuum)
        else:
            name = "correct" if correct else "wrong"
        stim = self.text_stim(self.texts.text(name), height=0.05)
        self.display.message("feedback_" + name if name != "correct" else "feedback", [stim],
                             seconds=self.args.feedback_duration)

    def trial(self, trial, number, n_trials, is_practice):
        label = "%s trial %d of %d" % ("practice" if is_practice else "main", number, n_trials)
        display = self.display
        display.begin_trial(None if self.observer is not None else self.args.keys, label)
        display.fixate()
        result = self.protocol.run_trial(display, trial, self.args, self.observer)
        display.clear()
        timed_out = result["response"] is None
        row = {"is_practice": int(is_practice), "trial_number": number, **trial, **result,
               "timed_out": int(timed_out), **display.timing(), **self.info}
        self.data_file.write(row)
        for name, value in row.items():
            if name not in self.info:
                self.experiment.addData(name, value)
        self.experiment.nextEntry()
        display.logging.exp("gaia-stim: %s done" % label)
        display.logging.flush()
        if is_practice or self.args.feedback:
            self.feedback(result.get("correct"), timed_out)
