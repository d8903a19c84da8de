"""Write the stored reference outputs that tests/test_reference_outputs.py compares against.

    python scripts/make_reference_outputs.py

- tests/data/face_checksums.json: sha256 (and shape) of the uint8 bytes of synthetic faces
  rendered by ``gaia_stim.datasets.face_render.render`` from fixed parameter vectors (stored in
  the file) at 32 and 64 px: the default model's training data must not drift unnoticed.
- tests/data/default_model_fingerprint.npz: the shipped default model's latents of the
  example faces in examples/faces/, and its decoded images of those latents and of
  interpolations between two pairs of them, stored as uint16 (round(65535 * image)) so
  that the test can tell changes far below one 8-bit grey level from float noise.

Rerun only after a deliberate change to the renderer or to the shipped model, and say so in
the commit message.
"""

import argparse
import glob
import hashlib
import json
import os

import numpy as np

import gaia_stim
from gaia_stim import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
FACE_SIZES = (32, 64)
INTERPOLATION_PAIRS = ((0, 1), (2, 3))
INTERPOLATION_LEVELS = (0.5,)


def face_parameter_sets():
    """The average face, the two corners of the cube and two faces drawn with seed 0."""
    n = len(datasets.PARAMETERS)
    drawn = np.round(datasets.sample_parameters(2, rng=0), 4)  # stored, so the sampler may change
    return {
        "average": datasets.AVERAGE_FACE.tolist(),
        "zeros": [0.0] * n,
        "ones": [1.0] * n,
        "drawn_0": drawn[0].tolist(),
        "drawn_1": drawn[1].tolist(),
    }


def image_sha256(images):
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()


def rendered_uint8(parameters, size):
    return np.round(datasets.render(np.array(parameters), size=size) * 255.0).astype(np.uint8)


def face_checksums():
    entries = []
    for name, parameters in face_parameter_sets().items():
        for size in FACE_SIZES:
            images = rendered_uint8(parameters, size)
            entries.append(
                {"name": name, "size": size, "parameters": parameters, "shape": list(images.shape),
                 "sha256": image_sha256(images)}
            )
    # the renderer by its home module, so the name follows it if it moves
    renderer = f"{datasets.render.__module__}.{datasets.render.__name__}"
    return {"renderer": f"{renderer}, uint8 = round(255 * image)", "faces": entries}


def example_faces():
    return sorted(glob.glob(os.path.join(ROOT, "examples", "faces", "*.png")))


def interpolated_latents(latents):
    return np.stack([
        (1 - level) * latents[a] + level * latents[b]
        for a, b in INTERPOLATION_PAIRS for level in INTERPOLATION_LEVELS
    ]).astype(np.float32)


def fingerprint_codes(latents):
    """The latents decoded for the fingerprint: the faces' own, then the interpolations."""
    return np.concatenate([latents, interpolated_latents(latents)])


def model_fingerprint(model):
    files = example_faces()
    latents = model.encode(files)
    codes = fingerprint_codes(latents)
    images = np.round(model.decode(codes) * 65535.0).astype(np.uint16)
    return {
        "files": np.array([os.path.basename(path) for path in files]),
        "latents": latents,
        "images": images,
        "model_sha256": np.array(model.file_sha256),
    }


def main(argv=None):
    # no options: the parser makes --help print this docstring instead of writing the files
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    os.makedirs(DATA, exist_ok=True)
    checksums = face_checksums()
    with open(os.path.join(DATA, "face_checksums.json"), "w") as stream:  # one face per line
        stream.write(f'{{"renderer": {json.dumps(checksums["renderer"])}, "faces": [\n')
        stream.write(",\n".join(json.dumps(entry) for entry in checksums["faces"]) + "\n]}\n")
    np.savez_compressed(os.path.join(DATA, "default_model_fingerprint.npz"),
                        **model_fingerprint(gaia_stim.load_model("default")))
    print(f"wrote {DATA}/face_checksums.json and {DATA}/default_model_fingerprint.npz")


if __name__ == "__main__":
    main()
