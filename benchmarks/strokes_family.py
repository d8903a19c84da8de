"""A sparse image family for recipe checks: a few thin white strokes on black, grey images.

Faces and shapes fill most of the image; here almost every pixel is background, so a network's
first answer -- the constant background -- already has a small error, and a recipe that hands the
game to the discriminator before the generator draws anything decodes every image to black. Each
image holds ``n_strokes`` straight strokes, about one pixel wide and anti-aliased, with end points
drawn uniformly inside the image.

    python benchmarks/strokes_family.py --n 6000 --size 32 --out runs/strokes32
"""

import argparse
import os

import numpy as np
from PIL import Image


def render_strokes(n, size=32, seed=0, n_strokes=3, width=1.0):
    """``n`` stroke images, uint8 (n, size, size, 1): white strokes on black, from ``seed``."""
    rng = np.random.default_rng(seed)
    ends = rng.uniform(0.1, 0.9, size=(n, n_strokes, 2, 2)) * size  # (image, stroke, end, xy)
    centres = np.arange(size) + 0.5
    y, x = np.meshgrid(centres, centres, indexing="ij")  # (size, size)
    images = np.zeros((n, size, size), dtype=np.float64)
    for stroke in range(n_strokes):
        start, end = ends[:, stroke, 0], ends[:, stroke, 1]  # (n, 2)
        direction = end - start
        length2 = np.maximum((direction**2).sum(axis=1), 1e-9)[:, None, None]
        px, py = x[None] - start[:, 0, None, None], y[None] - start[:, 1, None, None]
        t = np.clip((px * direction[:, 0, None, None] + py * direction[:, 1, None, None]) / length2, 0.0, 1.0)
        dx, dy = px - t * direction[:, 0, None, None], py - t * direction[:, 1, None, None]
        distance = np.sqrt(dx**2 + dy**2)
        images = np.maximum(images, np.clip(width / 2 + 0.5 - distance, 0.0, 1.0))
    return np.round(images * 255).astype(np.uint8)[..., None]


def write_strokes(out_dir, n, size, seed):
    os.makedirs(out_dir, exist_ok=True)
    for start in range(0, n, 1000):
        for offset, image in enumerate(render_strokes(min(1000, n - start), size, seed=[seed, start])):
            Image.fromarray(image[:, :, 0]).save(os.path.join(out_dir, f"strokes_{start + offset:05d}.png"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    write_strokes(args.out, args.n, args.size, args.seed)
    print(f"wrote {args.n} stroke images of {args.size} px to {args.out}")


if __name__ == "__main__":
    main()
