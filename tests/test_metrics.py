"""Image distances (gaia_stim/metrics.py): pixel, SSIM, NLPD and the discriminator's features.

Expected distances are computed here from the images (flat greys and noise from conftest.py).
"""

import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import flat, noise
from gaia_stim.cli import main
from gaia_stim.core.errors import InputError
from gaia_stim.metrics import distances
from gaia_stim.stimuli import continuum


def test_metrics_zero_for_identical_and_known_pixel_value():
    a, b = flat(0.0)[None], flat(0.0)[None].copy()
    b[0, :8] = 1.0  # half the pixels differ by 1: RMS sqrt(1/2) (a mean absolute difference would be 1/2)
    assert distances(a, b, "pixel")[0] == pytest.approx(np.sqrt(0.5))
    assert distances(a, a, "ssim")[0] == pytest.approx(0.0, abs=1e-12)


def test_step_distances_around_a_loop_go_to_the_next_image():
    from gaia_stim.metrics import step_distances

    images = np.stack([flat(value) for value in (0.0, 0.1, 0.3, 0.6)])
    np.testing.assert_allclose(step_distances(images, closed=True), [0.1, 0.2, 0.3, 0.6], atol=1e-6)
    np.testing.assert_allclose(step_distances(images), [0.1, 0.2, 0.3], atol=1e-6)


def test_nlpd_when_installed():
    pytest.importorskip("plenoptic")
    a, b = noise(1, size=64)[None], noise(2, size=64)[None]
    assert distances(a, a, "nlpd")[0] == pytest.approx(0.0, abs=1e-4)
    near, far = distances(a, 0.9 * a + 0.1 * b, "nlpd")[0], distances(a, b, "nlpd")[0]
    assert 0 < near < far


def test_nlpd_without_plenoptic_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "plenoptic", None)
    monkeypatch.setitem(sys.modules, "plenoptic.metric", None)
    with pytest.raises(InputError, match=r"gaia-stim\[perceptual\]"):
        distances(flat(0.1, 32)[None], flat(0.2, 32)[None], "nlpd")


def test_feature_metric_uses_the_run_folders_discriminator(tmp_path):
    import gaia_stim as gs

    data = tmp_path / "data"
    data.mkdir()
    for i in range(8):
        Image.fromarray((noise(i, size=32, channels=3) * 255).astype(np.uint8)).save(data / f"{i}.png")
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--preset", "tiny",
                                       "--batch-size", "8", "--steps", "1", "--sample-every", "1000"])
    assert result.exit_code == 0, result.output
    run = gs.load_model(str(tmp_path / "run"))
    a, b = noise(1, 32, 3)[None], noise(2, 32, 3)[None]
    assert distances(a, a, "feature", run)[0] == 0.0
    assert distances(a, b, "feature", run)[0] > 0.0
    # the features are the discriminator's: a discriminator with other weights gives other distances
    import torch

    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["discriminator"]
    run._discriminator = None
    run._discriminator_state = {k: v * 2 if v.is_floating_point() else v for k, v in state.items()}
    run._checkpoint_path = None
    assert distances(a, b, "feature", run)[0] != pytest.approx(distances(a, b, "feature", gs.load_model(str(tmp_path / "run")))[0])
    equal = continuum(run, a[0], b[0], n_steps=4, spacing="equal", metric="feature")
    assert equal["summary"]["step_distance_metric"] == "feature"
    with pytest.raises(InputError, match="discriminator"):
        continuum(gs.load_model("default"), a[0], b[0], n_steps=3, metric="feature")
