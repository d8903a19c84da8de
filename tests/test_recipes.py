"""The gaia-stim recipe's additions to the reference objective, and the recipes themselves.

A direct reconstruction term for G, an exponential moving average of G's weights exported as the
model, and named recipes that fill in the settings the user did not give.
"""

import copy
import json

import numpy as np
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
    assert default["warmup_bce"] == RECIPES["gaia-stim"]["warmup_bce"] > 0 and paper["warmup_bce"] == 0
    given = runner.invoke(main, common + ["--out", str(tmp_path / "given"), "--batch-size", "8", "--warmup-bce", "0.25"])
    assert given.exit_code == 0, given.output
    assert gaia_stim_model(tmp_path / "given").training["warmup_bce"] == 0.25

    changed = runner.invoke(main, ["train", "--out", str(tmp_path / "paper"), "--steps", "3", "--resume",
                                   "--recipe", "gaia-stim"])
    assert changed.exit_code == 1 and "--recipe gaia-stim (the run has paper)" in changed.output
    same = runner.invoke(main, ["train", "--out", str(tmp_path / "paper"), "--steps", "3", "--resume",
                                "--recipe", "paper"])
    assert same.exit_code == 0, same.output


@pytest.mark.parametrize("option, value", [("--ema-decay", "1"), ("--ema-decay", "-0.1"), ("--recon-weight", "nan"),
                                           ("--warmup-bce", "-0.5"), ("--recipe", "fast")])
def test_bad_recipe_options_are_refused(tmp_path, blob_folder, option, value):
    result = CliRunner().invoke(main, ["train", "--data", str(blob_folder), "--out", str(tmp_path / "r"),
                                       "--preset", "tiny", "--steps", "1", option, value])
    assert result.exit_code == 2 and option in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------------------------------
# the warm-up that ends on a criterion


def strokes(n=32, seed=0):
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "strokes_family.py")
    spec = importlib.util.spec_from_file_location("strokes_family", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render_strokes(n, size=32, seed=seed)


def grey_settings(**changes):
    from dataclasses import replace

    from gaia_stim.model import preset_config

    return settings(config=replace(preset_config("tiny"), channels=1), **changes)


def test_warm_up_cross_entropy_term_is_the_weighted_bce_of_g_s_logits(blobs):
    trainer = Trainer("unused", blobs, settings(), device="cpu")
    x = trainer.to_tensor(blobs[:8])

    def terms(weight, warmup=True):
        return gaia_losses(trainer.generator, trainer.discriminator, x, alpha=5e-4, lr_max=1e-3,
                           coefficients=torch.Generator().manual_seed(3), warmup=warmup, warmup_bce=weight)

    with torch.no_grad():
        logits = trainer.generator.decode_logits(*trainer.generator.encode(x))
        reconstruction = (torch.sigmoid(logits) - x).abs().mean().item()
        bce = -(x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits))).mean().item()
    plain, weighted = terms(0.0), terms(2.5)
    assert plain["loss_g"].item() == pytest.approx(reconstruction, rel=1e-5)
    assert weighted["loss_g"].item() == pytest.approx(reconstruction + 2.5 * bce, rel=1e-5)
    assert weighted["reconstruction"] == pytest.approx(reconstruction, rel=1e-5)  # what is logged stays L1
    assert weighted["loss_d"].item() == pytest.approx(plain["loss_d"].item())  # D's warm-up loss is untouched
    # after the warm-up the GAIA objective is unchanged by the setting
    assert terms(2.5, warmup=False)["loss_g"].item() == pytest.approx(terms(0.0, warmup=False)["loss_g"].item())


def test_the_recipe_s_warm_up_term_reaches_the_loss_and_the_model_record(monkeypatch, blobs):
    from gaia_stim.model import trainer as trainer_module

    seen = []
    real = trainer_module.gaia_losses

    def spy(*args, **kwargs):
        seen.append(kwargs["warmup_bce"])
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "gaia_losses", spy)
    trainer = Trainer("unused", blobs, settings(**recipe_settings("gaia-stim", batch_size=8)), device="cpu")
    trainer.train_step(trainer.to_tensor(blobs[trainer.batch_indices(0)]))
    assert seen == [RECIPES["gaia-stim"]["warmup_bce"]] and seen[0] > 0
    assert trainer.training_record()["warmup_bce"] == seen[0]
    older = {key: value for key, value in settings(warmup_steps=5).items() if key != "warmup_bce"}
    Trainer("unused", blobs, older, device="cpu").train_step(trainer.to_tensor(blobs[:8]))
    assert seen[-1] == 0.0  # a run recorded before the setting existed resumes with L1 alone


@pytest.mark.slow
def test_on_sparse_images_the_default_warm_up_draws_strokes_within_500_steps():
    # thin white strokes on black: with an L1-only warm-up every output logit falls below -10 within a
    # few hundred steps, the sigmoid saturates, and G decodes every image to black for good
    # (docs/records/sparse_recipe_l1_warmup.json: no stroke pixel after 10,000 steps)
    torch.manual_seed(0)
    images = strokes(n=2000)
    trainer = Trainer("unused", images, grey_settings(**{**recipe_settings("gaia-stim"), "seed": 0}), device="cpu")
    for step in range(500):
        assert trainer._in_warmup()
        trainer.train_step(trainer.to_tensor(images[trainer.batch_indices(step)]))
    held_out = trainer.to_tensor(strokes(n=64, seed=1))
    with torch.no_grad():
        drawn = trainer.generator(held_out)
    on_strokes = held_out > 0.5
    recall = (drawn[on_strokes] > 0.5).float().mean().item()
    ratio = trainer.probe_ratio()
    assert recall > 0.2 and ratio < 0.9, (recall, ratio)


def test_probe_ratio_is_g_s_error_over_the_per_pixel_median_s(blobs):
    trainer = Trainer("unused", blobs, settings(), device="cpu")
    ratio = trainer.probe_ratio()
    indices = np.sort(np.random.default_rng([trainer.seed, 2]).choice(len(blobs), min(64, len(blobs)), replace=False))
    x = trainer.to_tensor(blobs[indices])
    with torch.no_grad():
        error = (trainer.generator(x) - x).abs().mean().item()
    baseline = (x - x.median(dim=0, keepdim=True).values).abs().mean().item()
    assert ratio == pytest.approx(error / baseline, rel=1e-5)


def test_on_sparse_images_a_generator_that_draws_only_the_background_stays_in_warm_up(monkeypatch):
    # thin white strokes on black: the constant background already has a small absolute error, and a
    # fixed warm-up count used to hand the game to D while G still decoded every image to black
    images = strokes()
    trainer = Trainer("unused", images, grey_settings(**{**recipe_settings("gaia-stim"), "batch_size": 8}),
                      device="cpu")
    black = torch.nn.Module()
    black.forward = lambda x: torch.zeros_like(x)
    monkeypatch.setattr(trainer, "generator", black)
    assert trainer.probe_ratio() == pytest.approx(1.0)
    faithful = torch.nn.Module()
    faithful.forward = lambda x: x
    monkeypatch.setattr(trainer, "generator", faithful)
    assert trainer.probe_ratio() == 0.0
    # the mean image would have made black look like progress (about 0.6 of its error)
    x = trainer.to_tensor(images)
    assert x.abs().mean() / (x - x.mean(dim=0)).abs().mean() < 0.7
    assert recipe_settings("gaia-stim")["warmup_until"] < 0.7


def test_warm_up_ends_at_the_first_check_that_meets_the_criterion(monkeypatch, blobs):
    from gaia_stim.model import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "WARMUP_CHECK_EVERY", 2)
    trainer = Trainer("unused", blobs, settings(warmup_steps=3, warmup_until=0.5, warmup_lr=5e-3), device="cpu")
    ratios = {4: 0.8, 6: 0.45}
    checked = []

    def probe_ratio():
        checked.append(trainer.step)
        return ratios.get(trainer.step, 0.9)

    monkeypatch.setattr(trainer, "probe_ratio", probe_ratio)
    phases = []
    for step in range(9):
        phases.append((trainer._in_warmup(), trainer._lr_max()))
        trainer.train_step(trainer.to_tensor(blobs[trainer.batch_indices(step)]))
        trainer._check_warmup_end()
    # the minimum of 3 steps first, then checks at steps 4 and 6; the criterion met at step 6
    assert checked == [4, 6]
    assert trainer.warmup_ended == 6
    assert phases == [(True, 5e-3)] * 6 + [(False, 1e-3)] * 3
    assert trainer.training_record()["warmup_ended"] == 6


def test_warm_up_never_outlasts_its_maximum(monkeypatch, blobs):
    trainer = Trainer("unused", blobs, settings(warmup_steps=1, warmup_until=0.5, warmup_max_steps=3), device="cpu")
    monkeypatch.setattr(trainer, "probe_ratio", lambda: 1.0)
    for step in range(4):
        trainer.train_step(trainer.to_tensor(blobs[trainer.batch_indices(step)]))
        trainer._check_warmup_end()
    assert trainer.warmup_ended == 3 and not trainer._in_warmup()


def test_resume_across_the_end_of_a_criterion_warm_up_is_bit_identical(monkeypatch, tmp_path, blobs):
    from gaia_stim.model import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "WARMUP_CHECK_EVERY", 2)
    # a ratio that falls with the weights' step: the criterion is met at step 4
    monkeypatch.setattr(Trainer, "probe_ratio", lambda self: 1.0 - self.step / 8)
    options = settings(warmup_steps=1, warmup_until=0.5, warmup_lr=5e-3, ema_decay=0.9, recon_weight=1.0)
    straight = Trainer(tmp_path / "straight", blobs, options, device="cpu")
    straight.train(8, checkpoint_every=100, sample_every=0, progress=False)
    assert straight.warmup_ended == 4
    for stop in (3, 5):  # resumed before the end of the warm-up, and after it
        first = Trainer(tmp_path / f"split{stop}", blobs, options, device="cpu")
        first.train(stop, checkpoint_every=100, sample_every=0, progress=False)
        resumed = Trainer.resume(tmp_path / f"split{stop}", blobs, device="cpu")
        assert resumed.warmup_ended == (None if stop < 4 else 4)
        resumed.train(8, checkpoint_every=100, sample_every=0, progress=False)
        assert resumed.warmup_ended == 4
        for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
            assert torch.equal(a, b)
        for a, b in zip(straight.discriminator.state_dict().values(), resumed.discriminator.state_dict().values()):
            assert torch.equal(a, b)


def test_a_run_records_its_cpu_time_threads_and_load(tmp_path, blobs):
    import csv

    trainer = Trainer(tmp_path / "run", blobs, settings(), device="cpu")
    trainer.train(3, log_every=1, checkpoint_every=100, sample_every=0, progress=False)
    record = trainer.training_record()
    assert 0 < record["cpu_s"] and record["threads"] == torch.get_num_threads() and record["load_1m"] >= 0
    with open(tmp_path / "run" / "metrics.csv") as stream:
        rows = list(csv.DictReader(stream))
    cpu = [float(row["cpu_s"]) for row in rows]
    assert cpu == sorted(cpu) and cpu[0] > 0 and all(float(row["load_1m"]) >= 0 for row in rows)
    resumed = Trainer.resume(tmp_path / "run", blobs, device="cpu")
    assert resumed.cpu_s == pytest.approx(trainer.cpu_s)


def test_threads_option_limits_torch_and_is_recorded(tmp_path, blob_folder):
    before = torch.get_num_threads()
    try:
        result = CliRunner().invoke(main, ["train", "--data", str(blob_folder), "--out", str(tmp_path / "run"),
                                           "--preset", "tiny", "--steps", "2", "--batch-size", "8", "--threads", "1"])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
        assert gaia_stim_model(tmp_path / "run").training["threads"] == 1
        torch.set_num_threads(2)
        grouped = CliRunner().invoke(main, ["--threads", "1", "info", "--model", str(tmp_path / "run")])
        assert grouped.exit_code == 0, grouped.output
        assert torch.get_num_threads() == 1
        refused = CliRunner().invoke(main, ["--threads", "0", "info"])
        assert refused.exit_code == 2 and "--threads" in refused.output
    finally:
        torch.set_num_threads(before)


def gaia_stim_model(path):
    import gaia_stim

    return gaia_stim.load_model(str(path))
