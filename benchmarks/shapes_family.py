"""A second parametric image family for recipe checks: one soft-edged coloured shape on a background.

A recipe tuned on the synthetic faces alone could exploit something only faces have; this family
has different statistics (large flat regions, one object, a hue wheel) and, like the faces, renders
any parameter vector, so the true morph between two images is ``render((1 - t) p_a + t p_b)``.

Parameters, all in [0, 1]: centre x and y, size, aspect (width over height), rotation (0 to 90
degrees), squareness (ellipse to rounded square: the exponent of a superellipse from 2 to 8),
hue, and background grey. Edges are anti-aliased over one pixel.

    python benchmarks/shapes_family.py --n 6000 --size 32 --out runs/shapes32
"""

import argparse
import colorsys
import os

import numpy as np
from PIL import Image

PARAMETERS = ("x", "y", "size", "aspect", "rotation", "squareness", "hue", "background")


def render(params, size):
    """(N, 8) parameters in [0, 1] -> (N, size, size, 3) float32 images in [0, 1]."""
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    x, y, scale, aspect, rotation, squareness, hue, background = params.T[:, :, None, None]
    coordinates = (np.arange(size) + 0.5) / size * 2.0 - 1.0  # pixel centres in [-1, 1]
    v, u = np.meshgrid(coordinates, coordinates, indexing="ij")
    angle = rotation * (np.pi / 2)
    du, dv = u - (x - 0.5) * 0.8, v - (y - 0.5) * 0.8
    ru = np.cos(angle) * du + np.sin(angle) * dv
    rv = -np.sin(angle) * du + np.cos(angle) * dv
    radius = 0.25 + 0.35 * scale
    half_width = radius * (0.7 + 0.6 * aspect) / 1.3
    half_height = radius / ((0.7 + 0.6 * aspect) / 1.3)
    exponent = 2.0 + 6.0 * squareness
    level = (np.abs(ru / half_width) ** exponent + np.abs(rv / half_height) ** exponent) ** (1.0 / exponent)
    pixel = 2.0 / size
    coverage = np.clip((1.0 - level) * np.minimum(half_width, half_height) / pixel + 0.5, 0.0, 1.0)
    colour = np.array([colorsys.hsv_to_rgb(h, 0.75, 0.9) for h in params[:, 6]])[:, None, None, :]
    grey = (0.15 + 0.7 * background)[..., None]
    images = grey + coverage[..., None] * (colour - grey)
    return images.astype(np.float32)


def write_shapes(out_dir, n, size, seed):
    """Write ``n`` shapes with Beta(2, 2) parameters (seed ``seed``) as PNGs plus parameters.csv."""
    params = np.random.default_rng(seed).beta(2.0, 2.0, size=(n, len(PARAMETERS)))
    os.makedirs(out_dir, exist_ok=True)
    for start in range(0, n, 1000):
        images = np.round(render(params[start : start + 1000], size) * 255).astype(np.uint8)
        for offset, image in enumerate(images):
            Image.fromarray(image).save(os.path.join(out_dir, f"shape_{start + offset:05d}.png"))
    np.savetxt(os.path.join(out_dir, "parameters.csv"), params, delimiter=",", header=",".join(PARAMETERS),
               comments="", fmt="%.6f")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    write_shapes(args.out, args.n, args.size, args.seed)
    print(f"wrote {args.n} shapes of {args.size} px to {args.out}")


if __name__ == "__main__":
    main()
