"""What the two MLDS protocols share: the trial ("which pair differs more?") and the scale observer.

Maximum likelihood difference scaling (Maloney & Yang 2003): every trial shows two pairs of images
from a continuum and the participant says which pair differs more. The trial lists come from
``gaia-stim trials --design mlds-triads`` (or ``mlds-quadruples``); images are numbered in
presentation order (``image_1`` ...), the first pair is images 1 and 2, the second images 2 and 3
(triads) or 3 and 4 (quadruples). The data column ``chose_second_pair`` (1: the second pair was
judged more different, 0: the first; empty after a timeout) is what ``gaia-stim scale`` fits.

The layout puts the first pair on the left and the second on the right, so LEFT and RIGHT (or the
two --keys) answer "the left pair" and "the right pair":

- triads: the three images in a row, image 2 in the middle shared by both pairs (left pair: left
  and middle images; right pair: middle and right images);
- quadruples: two columns, the first pair stacked on the left (image 1 above image 2), the second
  stacked on the right (image 3 above image 4).

The images stay up until the answer (--duration 0), or for --duration seconds, after which the
screen is blank until the answer. There is no right answer, so practice trials and --feedback show
no "correct"/"wrong" (only "too slow" after --response-timeout).

Simulated observer (``--simulate``): a perceptual scale psi over the morph level and Gaussian
decision noise sigma; the second pair is judged more different with probability
P = Phi((|psi(d) - psi(c)| - |psi(b) - psi(a)|) / sigma) for the first pair (a, b) and the second
(c, d) -- the formula of ``gaia_stim.analysis.mlds_model.observer_probability`` and of the designs'
records (tests/test_design_records.py checks the two exactly). ``--sim-scale`` is one of

- ``linear``: psi(x) = x;
- ``power:G``: psi(x) = x ** G (G > 0);
- ``logistic:C:W``: psi(x) = 1 / (1 + exp(-(x - C) / W)) (centre C, width W > 0);
- ``table:L1=V1,L2=V2,...``: the values V at levels L (two or more, L increasing), linear between
  them and constant beyond the ends (numpy.interp, as a scale table in gaia-stim).

``--sim-sigma`` is sigma in the units of psi. As in the other protocols, every random choice is one
call of ``draw(p)``, one uniform number from the generator seeded by ``--sim-seed``.
"""

import argparse
import math

import numpy as np

KEYS = ("left", "right")  # the pair on that side
KEY_ROLES = ("key_left", "key_right")
SWAPPABLE = False  # the keys name sides, not answers
IMAGE_DURATION = 0.0
SHOWN = ("images",)  # every image at once: onset_images, offset_images
ANSWER_FROM = "images"
ENDPOINT_LABELS = None
EASE = "largest difference between the two pairs' morph-level differences"


def image_columns(size):
    return tuple(("image_%d" % k, "morph_%d" % k) for k in range(1, size + 1))


def ease(trial):
    """How different the two pairs' morph-level differences are (larger: easier)."""
    if "morph_4" in trial:
        first, second = abs(trial["morph_2"] - trial["morph_1"]), abs(trial["morph_4"] - trial["morph_3"])
    else:
        first, second = abs(trial["morph_2"] - trial["morph_1"]), abs(trial["morph_3"] - trial["morph_2"])
    return abs(second - first)


def positions(n_images, size):
    """Where images 1..n go: a row of three (triads), or the two pairs in two columns (quadruples)."""
    if n_images == 3:
        return [(-1.05 * size, 0.0), (0.0, 0.0), (1.05 * size, 0.0)]
    x, y = 0.75 * size, 0.53 * size
    return [(-x, y), (-x, -y), (x, y), (x, -y)]


def run_trial(display, trial, args, observer, n_images):
    key_left, key_right = args.keys
    stims = [display.image(trial["image_%d" % k], pos=pos)
             for k, pos in zip(range(1, n_images + 1), positions(n_images, args.size))]
    display.show(stims, args.duration)
    if observer is not None:
        levels = [trial["morph_%d" % k] for k in range(1, n_images + 1)]
        key, rt = (key_right if observer.second_pair_differs_more(levels) else key_left), None
    else:
        key, rt = display.response(stims if args.duration == 0 else [], args.response_timeout)
    pair = None if key is None else "second" if key == key_right else "first"
    return {"response": key, "rt": rt, "chosen_pair": pair,
            "chose_second_pair": None if pair is None else int(pair == "second"), "correct": None}


# The simulated observer --------------------------------------------------------------------------

def parse_scale(text):
    """A ``--sim-scale`` text -> psi, a function of the level (numpy arrays or numbers)."""
    kind, _, rest = str(text).partition(":")
    parts = rest.split(":") if rest else []
    try:
        if kind == "linear" and not parts:
            return lambda x: np.asarray(x, dtype=np.float64) * 1.0
        if kind == "power" and len(parts) == 1:
            gamma = float(parts[0])
            if math.isfinite(gamma) and gamma > 0:
                return lambda x: np.power(np.clip(np.asarray(x, dtype=np.float64), 0.0, None), gamma)
        if kind == "logistic" and len(parts) == 2:
            centre, width = float(parts[0]), float(parts[1])
            if math.isfinite(centre) and math.isfinite(width) and width > 0:
                return lambda x: 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - centre) / width))
        if kind == "table":
            pairs = [item.split("=") for item in rest.split(",")]
            levels = np.array([float(level) for level, _ in pairs])
            values = np.array([float(value) for _, value in pairs])
            if (len(levels) >= 2 and np.all(np.isfinite(levels)) and np.all(np.isfinite(values))
                    and np.all(np.diff(levels) > 0)):
                return lambda x: np.interp(np.asarray(x, dtype=np.float64), levels, values)
    except ValueError:
        pass
    raise ValueError("--sim-scale must be linear, power:G (G > 0), logistic:C:W (W > 0) or "
                     "table:L1=V1,L2=V2,... (two or more, levels increasing); got %r" % text)


def _scale(text):
    try:
        parse_scale(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))
    return text


def _sigma(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("must be a number > 0; got %r" % text)
    return value


class ScaleObserver:
    """Judges which pair differs more on its perceptual scale psi, with decision noise sigma."""

    def __init__(self, scale, sigma, seed):
        self.scale, self.sigma = scale, sigma
        self.psi = parse_scale(scale)
        self.rng = np.random.default_rng(seed)

    def draw(self, probability):
        """True with ``probability``."""
        return self.rng.random() < probability

    def second_probability(self, levels):
        """P(second pair more different) = Phi((|psi_d - psi_c| - |psi_b - psi_a|) / sigma)."""
        psi = [float(value) for value in self.psi(np.asarray(levels, dtype=np.float64))]
        first = abs(psi[1] - psi[0])
        second = abs(psi[2] - psi[1]) if len(psi) == 3 else abs(psi[3] - psi[2])
        return 0.5 * math.erfc(-(second - first) / (self.sigma * math.sqrt(2.0)))

    def second_pair_differs_more(self, levels):
        return self.draw(self.second_probability(levels))


def add_simulation_options(group):
    group.add_argument("--sim-scale", type=_scale, default="linear", metavar="SCALE",
                       help="simulated observer's perceptual scale: linear, power:G, logistic:C:W or "
                            "table:L1=V1,L2=V2,... [linear]")
    group.add_argument("--sim-sigma", type=_sigma, default=0.1, metavar="SIGMA",
                       help="simulated observer's decision noise, in units of the scale [0.1]")


def check_simulation_options(parser, args):
    pass  # checked as they are parsed


def simulation_info(args):
    return {"sim_scale": args.sim_scale, "sim_sigma": args.sim_sigma, "sim_seed": args.sim_seed}


def simulated_observer(args):
    return ScaleObserver(args.sim_scale, args.sim_sigma, args.sim_seed)
