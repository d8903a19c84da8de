"""The feature ceiling of a face model: how much of a true change of each face parameter survives the model.

Held-out faces (Beta(2, 2) faces of ``seed`` shrunk halfway to the average face, so parameters lie in
[0.25, 0.75] and a change of up to 0.25 stays inside [0, 1]) are rendered with one parameter moved
over ``amounts`` (-0.25 to +0.25 by default), encoded and decoded by the model, and measured with
the model-independent face estimator (:mod:`gaia_stim.datasets.face_estimator`). A parameter's
*ceiling gain* is the least-squares slope of its measured value against the true change, averaged
over faces: 1 when the model draws the change in full, 0 when it draws none of it. It bounds what any
latent direction (an attribute axis) can show with the model. The same slope measured on the true
renders themselves (``render_gain``) is about 1 when the measurement is sound.

    python benchmarks/feature_ceiling.py --model default          # prints the table
"""

import argparse
import os
import sys

import numpy as np

TEST_SEED = 777


def to_uint8(images):
    return np.round(np.asarray(images) * 255).astype(np.uint8)


def slopes(amounts, values):
    """Least-squares slope of values (faces, steps, P) against amounts (steps,): (faces, P)."""
    centred = amounts - amounts.mean()
    return np.einsum("s,fsp->fp", centred, values - values.mean(axis=1, keepdims=True)) / (centred @ centred)


def test_faces(n_faces, seed=TEST_SEED):
    """Parameters (n_faces, P) of held-out faces shrunk halfway to the average face."""
    from gaia_stim.datasets import sample_parameters

    return 0.5 + 0.5 * (sample_parameters(n_faces, seed) - 0.5)


def feature_ceiling(model, n_faces=6, amount=0.25, n_steps=5, seed=TEST_SEED):
    """Per face parameter: the render gain, the ceiling gain and the other parameter the change moves most.

    Returns
    -------
    dict
        name -> ``{"render_gain", "ceiling_gain", "worst_other", "worst_other_change"}``; the
        change of the worst other parameter is over the whole manipulation (2 * ``amount``), in
        units of its range.
    """
    from gaia_stim.datasets.face_estimator import estimate_parameters
    from gaia_stim.datasets import PARAMETERS, render

    truth = test_faces(n_faces, seed)
    amounts = np.linspace(-amount, amount, n_steps)
    span = amounts[-1] - amounts[0]
    result = {}
    for index, name in enumerate(PARAMETERS):
        moved = np.repeat(truth[:, None, :], n_steps, axis=1)
        moved[:, :, index] += amounts
        renders = to_uint8(render(moved.reshape(-1, len(PARAMETERS)), model.image_size))
        through_model = model.decode(model.encode(renders))
        gains = []
        for images in (renders, through_model):
            measured = estimate_parameters(images).reshape(n_faces, n_steps, -1)
            mean_slope = slopes(amounts, measured).mean(axis=0)
            gains.append(float(mean_slope[index]))
        others = np.abs(np.delete(mean_slope, index)) * span  # mean_slope: through the model
        worst = int(np.argmax(others))
        result[name] = {
            "render_gain": gains[0],
            "ceiling_gain": gains[1],
            "worst_other": [p for p in PARAMETERS if p != name][worst],
            "worst_other_change": float(others[worst]),
        }
    return result


def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--faces", type=int, default=6)
    args = parser.parse_args(argv)
    import gaia_stim

    ceiling = feature_ceiling(gaia_stim.load_model(args.model), n_faces=args.faces)
    print(f"{'parameter':<16} {'render':>7} {'ceiling':>8}  worst other (change)")
    for name, row in ceiling.items():
        print(f"{name:<16} {row['render_gain']:7.3f} {row['ceiling_gain']:8.3f}  {row['worst_other']} ({row['worst_other_change']:.3f})")
    gains = np.array([row["ceiling_gain"] for row in ceiling.values()])
    print(f"parameters with ceiling >= 0.7: {(gains >= 0.7).sum()} of {len(gains)}; >= 0.5: {(gains >= 0.5).sum()}")


if __name__ == "__main__":
    main()
