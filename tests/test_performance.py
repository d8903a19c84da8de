"""Speed switches (bf16 autocast, channels-last, torch.compile): the same losses as the plain step, the same files."""

import os

import pytest
import torch

from gaia_stim.model import Trainer, preset_config
from gaia_stim.model.performance import Performance

STEPS = 3
PLAIN = Performance(channels_last=False)
TERMS = ("loss_x", "loss_gx", "loss_gi", "loss_dist", "reconstruction")


def settings():
    return {
        "preset": "tiny", "config": preset_config("tiny"), "batch_size": 8, "seed": 5,
        "ablation": "none", "lr_max": 1e-3, "alpha": 0.05,
    }


def losses(trainer):
    rows = []
    for step in range(STEPS):
        terms = trainer.train_step(trainer.local_batch(step))
        rows.append({name: terms[name] for name in TERMS})
    return rows


@pytest.fixture(scope="module")
def plain(tmp_path_factory, blobs):
    torch.set_num_threads(1)
    return losses(Trainer(tmp_path_factory.mktemp("plain"), blobs, settings(), performance=PLAIN))


# Tolerances, relative, on the loss terms of the first 3 steps (the first from the same weights):
# - channels-last and compile compute the same float32 sums in another order: rounding (measured
#   below 1e-5 for channels-last);
# - bf16 rounds the networks' activations to 8 significant bits (relative 4e-3) while the losses are
#   float32 means: the L1 terms measured within 1.2e-2 after 3 steps (1.1e-3 at the first). The
#   structure loss compares differences of codes, which rounding moves more: within 4.8e-2.
SWITCHES = [
    pytest.param(Performance(channels_last=True), {"l1": 1e-4, "loss_dist": 1e-4}, id="channels-last"),
    pytest.param(Performance(precision="bf16", channels_last=False), {"l1": 3e-2, "loss_dist": 0.1}, id="bf16"),
    pytest.param(
        Performance(compile=True, channels_last=False), {"l1": 1e-4, "loss_dist": 1e-4}, id="compile",
        marks=pytest.mark.skipif(
            not os.environ.get("GAIA_STIM_TEST_COMPILE"),
            reason="compiling takes a minute or more on a CPU; set GAIA_STIM_TEST_COMPILE=1",
        ),
    ),
]


@pytest.mark.parametrize("performance, tolerances", SWITCHES)
def test_each_switch_gives_the_plain_losses_within_its_tolerance(performance, tolerances, plain, blobs, tmp_path):
    trainer = Trainer(tmp_path / "run", blobs, settings(), performance=performance)
    switched = losses(trainer)
    for step, (expected, got) in enumerate(zip(plain, switched)):
        for term in TERMS:
            tolerance = tolerances.get(term, tolerances["l1"])
            assert got[term] == pytest.approx(expected[term], rel=tolerance), (step, term)
    assert switched != plain  # the switch did change how the step is computed
    if performance.channels_last:
        weight = trainer.generator.content_encoder[0].weight
        assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def test_files_written_with_switches_on_are_the_plain_format_and_resume_without_them(tmp_path, blobs):
    torch.set_num_threads(1)
    switched = Trainer(tmp_path / "switched", blobs, settings(), performance=Performance(precision="bf16", channels_last=True))
    switched.train(2, sample_every=0, progress=False)
    plain = Trainer(tmp_path / "plain", blobs, settings(), performance=PLAIN)
    plain.train(2, sample_every=0, progress=False)
    for name in ("checkpoint.pt", "model.pt"):
        a = torch.load(tmp_path / "switched" / name, weights_only=True)
        b = torch.load(tmp_path / "plain" / name, weights_only=True)
        assert a.keys() == b.keys()
        for part in ("generator", "discriminator"):
            if part in a:
                assert {k: (v.shape, v.dtype) for k, v in a[part].items()} == {k: (v.shape, v.dtype) for k, v in b[part].items()}
    resumed = Trainer.resume(tmp_path / "switched", blobs, performance=PLAIN)
    for key, tensor in switched.generator.state_dict().items():
        assert torch.equal(tensor, resumed.generator.state_dict()[key]), key
    resumed.train(3, sample_every=0, progress=False)


def test_channels_last_is_the_default_on_a_cpu_only(tmp_path, blobs):
    trainer = Trainer(tmp_path / "run", blobs, settings())
    assert trainer.performance == Performance(channels_last=True)
    assert trainer.generator.content_encoder[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert Performance().resolved("cuda").channels_last is False
    assert Performance(channels_last=False).resolved("cpu").channels_last is False
