"""Stored outputs that must not drift: the synthetic faces and the shipped default model.

The references are written by scripts/make_reference_outputs.py; rerun it only after a
deliberate change to the renderer or the shipped model.
"""

import hashlib
import importlib.util
import json
import os

import numpy as np
import pytest
import torch

import gaia_stim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")


def load_script():
    spec = importlib.util.spec_from_file_location("make_reference_outputs",
                                                  os.path.join(ROOT, "scripts", "make_reference_outputs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()
with open(os.path.join(DATA, "face_checksums.json")) as stream:
    FACES = json.load(stream)["faces"]


@pytest.mark.parametrize("entry", FACES, ids=[f"{entry['name']}-{entry['size']}" for entry in FACES])
def test_rendered_faces_match_their_stored_checksums(entry):
    images = script.rendered_uint8(entry["parameters"], entry["size"])
    assert list(images.shape) == entry["shape"]
    assert hashlib.sha256(images.tobytes()).hexdigest() == entry["sha256"], (
        "the face renderer's output changed; if deliberate, rerun scripts/make_reference_outputs.py"
    )


def test_face_checksums_cover_both_sizes_and_the_average_face():
    assert {entry["size"] for entry in FACES} == {32, 64}
    assert any(entry["parameters"] == [0.5] * len(entry["parameters"]) for entry in FACES)
    assert len({entry["sha256"] for entry in FACES}) == len(FACES)  # every face differs


# Encoding the same 8 faces one at a time instead of as a batch moved latents (values up to
# ~850) by at most 9.2e-4 and images by 5.4e-7 on the development machine, 1 or 2 threads: float
# noise (float32's 1.2e-7 relative, over a few hundred summed terms).
LATENT_TOLERANCE = 5e-3
IMAGE_TOLERANCE = 1e-4  # 0.026 of an 8-bit grey level


@pytest.fixture(scope="module")
def fingerprint():
    with np.load(os.path.join(DATA, "default_model_fingerprint.npz")) as stored:
        return {name: stored[name] for name in stored.files}


def differences(model, fingerprint):
    """Largest differences from the stored latents and from the stored decoded images."""
    files = script.example_faces()
    assert [os.path.basename(path) for path in files] == list(fingerprint["files"])
    latents = model.encode(files)
    images = model.decode(script.fingerprint_codes(fingerprint["latents"]))  # the stored latents
    return (np.abs(latents - fingerprint["latents"]).max(),
            np.abs(images - fingerprint["images"] / 65535.0).max())


def test_default_model_reproduces_its_stored_fingerprint(fingerprint):
    model = gaia_stim.load_model("default")
    assert model.file_sha256 == str(fingerprint["model_sha256"]), (
        "the shipped model file changed; rerun scripts/make_reference_outputs.py"
    )
    latent_difference, image_difference = differences(model, fingerprint)
    assert latent_difference <= LATENT_TOLERANCE and image_difference <= IMAGE_TOLERANCE


@pytest.mark.parametrize("layer", ["to_content", "upsample.8"])
def test_fingerprint_detects_a_change_of_one_weight(fingerprint, layer):
    model = gaia_stim.load_model("default")
    weight = model.generator.get_submodule(layer).weight
    with torch.no_grad():
        largest = np.unravel_index(weight.abs().argmax().item(), weight.shape)  # any memory layout
        weight[largest] += 1e-2  # its largest weight, changed by 1e-2
    latent_difference, image_difference = differences(model, fingerprint)
    assert latent_difference > LATENT_TOLERANCE or image_difference > IMAGE_TOLERANCE
