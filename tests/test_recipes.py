"""The gaia-stim recipe's additions to the reference objective, and the recipes themselves.

A direct reconstruction term for G, an exponential moving average of G's weights exported as the
model, and named recipes that fill in the settings the user did not give.
"""

import copy
import json

import pytest
import torch
from click.testing import CliRunner

from gaia_stim.cli import main
from gaia_stim.model import Trainer
from gaia_stim.model.objective import gaia_losses
from gaia_stim.model.recipes import RECIPES, recipe_settings
from gaia_stim.model.trainer import _step_seed

from _settings import tiny_settings


def settings(**changes):
    return tiny_settings(**{"seed": 7, **changes})


def test_reconstruction_term_adds_the_weighted_l1_of_g_to_l_g(blobs):
    trainer = Trainer("unused", blobs, settings(), device="cpu")
    x = trainer.to_tensor(blobs[:8])

    def losses(weight):
        coefficients = torch.Generator().manual_seed(3)
        return gaia_losses(trainer.generator, trainer.discriminator, x, alpha=5e-4, lr_max=1e-3,
                           coefficients=coefficients, recon_weight=weight)

    plain, weighted = losses(0.0), losses(2.5)
    reconstruction = (trainer.generator(x) - x).abs().mean().item()
    assert weighted["loss_g"].item() == pytest.approx(plain["loss_g"].item() + 2.5 * reconstruction, rel=1e-5)
    assert weighted["loss_d"].item() == pytest.approx(plain["loss_d"].item())  # D's loss is untouched
    # the term carries G's gradient: it moves every decoder weight the plain loss moves
    gradients = torch.autograd.grad(weighted["loss_g"] - plain["loss_g"], list(trainer.generator.parameters()),
                                    allow_unused=True)
    assert sum(float(g.abs().sum()) for g in gradients if g is not None) > 0


def test_train_step_uses_the_reconstruction_weight_of_the_settings(blobs):
    trainer = Trainer("unused", blobs, settings(recon_weight=1.5), device="cpu")
    x = trainer.to_tensor(blobs[:8])
    generator, discriminator = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.discriminator)
    coefficients = torch.Generator().manual_seed(_step_seed(trainer.seed, trainer.step, "interpolation"))
    expected = gaia_losses(generator, discriminator, x, alpha=5e-4, lr_max=1e-3, coefficients=coefficients,
                           recon_weight=1.5)
    gradients = torch.autograd.grad(expected["loss_g"], list(generator.parameters()))
    terms = trainer.train_step(x)
    assert terms["loss_g"].item() == expected["loss_g"].item()
    for (name, parameter), gradient in zip(trainer.generator.named_parameters(), gradients):
        torch.testing.assert_close(parameter.grad, gradient, msg=f"G's {name}")


def test_weight_average_follows_the_ramped_decay_and_is_what_model_pt_holds(tmp_path, blobs):
    decay = 0.8
    trainer = Trainer(tmp_path / "run", blobs, settings(ema_decay=decay), device="cpu")
    expected = {name: p.detach().clone() for name, p in trainer.generator.named_parameters()}
    for step in range(4):
        trainer.train_step(trainer.to_tensor(blobs[trainer.batch_indices(step)]))
        rate = min(decay, (1.0 + step) / (10.0 + step))
        for name, parameter in trainer.generator.named_parameters():
            expected[name] = rate * expected[name] + (1 - rate) * parameter.detach()
    averaged = dict(trainer.generator_ema.named_parameters())
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name], value, msg=name)
        assert not torch.equal(averaged[name], dict(trainer.generator.named_parameters())[name]) or "bias" in name
    (tmp_path / "run").mkdir()
    trainer.save()
    exported = torch.load(tmp_path / "run" / "model.pt", weights_only=True)["generator"]
    for name, value in trainer.generator_ema.state_dict().items():
        assert torch.equal(exported[name].float(), value.float()), name


def test_resume_with_a_weight_average_is_bit_identical(tmp_path, blobs):
    options = settings(ema_decay=0.9, recon_weight=1.0, warmup_steps=2)
    straight = Trainer(tmp_path / "straight", blobs, options, device="cpu")
    straight.train(6, checkpoint_every=100, sample_every=0, progress=False)
    first = Trainer(tmp_path / "split", blobs, options, device="cpu")
    first.train(3, checkpoint_every=100, sample_every=0, progress=False)
    resumed = Trainer.resume(tmp_path / "split", blobs, device="cpu")
    resumed.train(6, checkpoint_every=100, sample_every=0, progress=False)
    for a, b in zip(straight.generator_ema.state_dict().values(), resumed.generator_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_recipes_fill_in_only_what_is_not_given():
    paper = recipe_settings("paper")
    assert (paper["batch_size"], paper["lr_max"], paper["alpha"], paper["warmup_steps"]) == (8, 1e-4, 5e-5, 0)
    assert paper["recon_weight"] == 0 and paper["ema_decay"] == 0 and paper["recipe"] == "paper"
    ours = recipe_settings("gaia-stim", lr_max=1e-3, warmup_steps=None)
    assert ours["lr_max"] == 1e-3 and ours["alpha"] == 5e-4 and ours["warmup_steps"] == 500
    assert recipe_settings("gaia-stim", warmup_steps=7)["warmup_steps"] == 7
    assert ours["recon_weight"] == RECIPES["gaia-stim"]["recon_weight"] > 0


def test_train_without_options_uses_the_gaia_stim_recipe_and_paper_is_one_switch(tmp_path, blob_folder):
    runner = CliRunner()
    common = ["train", "--data", str(blob_folder), "--preset", "tiny", "--steps", "2", "--sample-every", "5"]
    for name, extra in (("default", ["--batch-size", "8"]), ("paper", ["--recipe", "paper"])):
        result = runner.invoke(main, common + ["--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
    default = json.loads((tmp_path / "default" / "run.json").read_text())
    paper = json.loads((tmp_path / "paper" / "run.json").read_text())
    assert default["recipe"] == "gaia-stim" and default["recon_weight"] == RECIPES["gaia-stim"]["recon_weight"]
    assert default["ema_decay"] == RECIPES["gaia-stim"]["ema_decay"] and default["lr_max"] == 2e-4
    assert (paper["recipe"], paper["batch_size"], paper["lr_max"], paper["alpha"]) == ("paper", 8, 1e-4, 5e-5)
    assert paper["recon_weight"] == 0 and paper["ema_decay"] == 0 and paper["warmup_steps"] == 0

    changed = runner.invoke(main, ["train", "--out", str(tmp_path / "paper"), "--steps", "3", "--resume",
                                   "--recipe", "gaia-stim"])
    assert changed.exit_code == 1 and "--recipe gaia-stim (the run has paper)" in changed.output
    same = runner.invoke(main, ["train", "--out", str(tmp_path / "paper"), "--steps", "3", "--resume",
                                "--recipe", "paper"])
    assert same.exit_code == 0, same.output


@pytest.mark.parametrize("option, value", [("--ema-decay", "1"), ("--ema-decay", "-0.1"), ("--recon-weight", "nan"),
                                           ("--recipe", "fast")])
def test_bad_recipe_options_are_refused(tmp_path, blob_folder, option, value):
    result = CliRunner().invoke(main, ["train", "--data", str(blob_folder), "--out", str(tmp_path / "r"),
                                       "--preset", "tiny", "--steps", "1", option, value])
    assert result.exit_code == 2 and option in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
