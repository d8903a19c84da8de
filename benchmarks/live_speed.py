"""Images per second of live generation (gaia_stim.stimuli.live.LiveMorph) at the default model's size.

What an adaptive experiment pays between an answer and the next stimulus: one
``LiveMorph.array(level)`` call (decode one latent, map to [-1, 1], flip for ImageStim). Also
times batches of 16 (pre-generating a staircase's candidate levels). Prints medians, minima and
maxima over --repeats rounds; the machine is shared, so read the median. At 60 Hz a frame lasts
16.7 ms: an image generated in less than that fits between an answer and the next frame.

    python benchmarks/live_speed.py [--model default] [--repeats 7] [--threads N]
"""

import argparse
import os
import platform
import statistics
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACE_A = os.path.join(ROOT, "examples", "faces", "face_00005.png")
FACE_B = os.path.join(ROOT, "examples", "faces", "face_00006.png")


def median_rate(function, count, repeats):
    """Median items per second over ``repeats`` rounds of ``function()`` producing ``count`` items."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()

    import numpy as np
    import torch

    import gaia_stim
    from gaia_stim import LiveMorph

    if args.threads:
        torch.set_num_threads(args.threads)
    model = gaia_stim.load_model(args.model)
    morph = LiveMorph(model, FACE_A, FACE_B)
    rng = np.random.default_rng(0)
    morph.array(0.5)  # warm-up: first call allocates

    def one_at_a_time(n=20):
        for level in rng.uniform(0, 1, n):
            morph.array(float(level))

    def batch_of_16():
        morph.images(rng.uniform(0, 1, 16))

    print(f"model {args.model}: {model.image_size}x{model.image_size}x{model.channels}, latent {model.latent_dim},"
          f" preset {model.preset}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()},"
          f" {os.cpu_count()} CPUs")
    print(f"{'call':<28}{'images/s (median)':>18}{'min':>8}{'max':>8}{'ms/image':>10}")
    for name, function, count in [
        ("array(level), one by one", one_at_a_time, 20),
        ("images(16 levels), batch", batch_of_16, 16),
    ]:
        median, low, high = median_rate(function, count, args.repeats)
        print(f"{name:<28}{median:>18.1f}{low:>8.1f}{high:>8.1f}{1000 / median:>10.2f}")


if __name__ == "__main__":
    main()
