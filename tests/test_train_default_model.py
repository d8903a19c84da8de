"""scripts/train_default_model.py: the warm-start pack that survives a lost machine, and the export.

The long run is the default model's lifeline across machines: a pack committed at every stop must
start the run again with the same weights, step and CPU time, and the export must write the very
weights it was given as a model file the package loads. Checked on a `tiny` run of three steps.
"""

import importlib.util
import pathlib
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import gaia_stim
from gaia_stim.cli import main

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "train_default_model.py"


def load_script():
    spec = importlib.util.spec_from_file_location("train_default_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return load_script()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """WORK/faces and a three-step `tiny` run in WORK/gaia, as the script lays them out."""
    work = tmp_path_factory.mktemp("default_v2")
    runner = CliRunner()
    result = runner.invoke(main, ["faces", "--n", "12", "--size", "32", "--seed", "0", "--out", str(work / "faces")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--threads", "1", "train", "--data", str(work / "faces"), "--out", str(work / "gaia"),
                                  "--preset", "tiny", "--steps", "3", "--batch-size", "4", "--seed", "0",
                                  "--warmup-steps", "1", "--device", "cpu", "--log-every", "1", "--sample-every", "1000"])
    assert result.exit_code == 0, result.output
    return work


def weights(run):
    from gaia_stim.model.trainer import Trainer

    return Trainer.read_checkpoint(str(run))


def test_a_pack_holds_the_runs_weights_in_float16_with_its_step_and_cpu_time(script, work, tmp_path):
    pack_path = tmp_path / "records" / "warm_start.pt"
    script.main(["--work", str(work), "--pack", str(pack_path)])
    pack = torch.load(pack_path, map_location="cpu", weights_only=True)
    state = weights(work / "gaia")
    assert pack["format"] == "gaia-stim-warm-start"
    assert pack["step"] == state["step"] == 3 and pack["cpu_s"] == state["cpu_s"] > 0
    assert "optimizer_g" not in pack and not any("optim" in key for key in pack)
    for key in ("generator", "generator_ema", "discriminator"):
        assert pack[key].keys() == state[key].keys()
        for name, tensor in pack[key].items():
            if state[key][name].dtype == torch.float32:
                assert tensor.dtype == torch.float16
                torch.testing.assert_close(tensor, state[key][name].half(), rtol=0, atol=0)


def test_a_lost_run_starts_again_from_its_pack_and_trains_on(script, work, tmp_path):
    pack_path = tmp_path / "warm_start.pt"
    script.main(["--work", str(work), "--pack", str(pack_path)])
    other = tmp_path / "other_machine"
    shutil.copytree(work / "faces", other / "faces")  # 'gaia-stim faces' writes the same faces again
    script.main(["--work", str(other), "--from-pack", str(pack_path)])
    before, after = weights(work / "gaia"), weights(other / "gaia")
    assert after["step"] == before["step"] and after["cpu_s"] == before["cpu_s"]
    assert after["elapsed_s"] == before["elapsed_s"] and after["warmup_ended"] == before["warmup_ended"]
    for key in ("generator", "generator_ema", "discriminator"):
        for name, tensor in after[key].items():
            expected = before[key][name].half().float() if before[key][name].dtype == torch.float32 else before[key][name]
            torch.testing.assert_close(tensor, expected, rtol=0, atol=0)
    # the restored run is an ordinary run: it continues
    result = CliRunner().invoke(main, ["--threads", "1", "train", "--data", str(other / "faces"), "--out",
                                       str(other / "gaia"), "--steps", "4", "--resume", "--device", "cpu",
                                       "--log-every", "1", "--sample-every", "1000"])
    assert result.exit_code == 0, result.output
    assert weights(other / "gaia")["step"] == 4
    # a run that is there is never overwritten by a pack
    with pytest.raises(SystemExit, match="already holds a run; continue it instead"):
        script.main(["--work", str(other), "--from-pack", str(pack_path)])
    assert weights(other / "gaia")["step"] == 4


def test_the_export_is_the_given_model_in_float16_and_loads(script, work, tmp_path):
    snapshot = tmp_path / "snapshot.pt"
    shutil.copy(work / "gaia" / "model.pt", snapshot)
    shipped = tmp_path / "data" / "default.pt"
    script.main(["--work", str(work), "--export", str(shipped), "--export-from", str(snapshot)])
    exported = torch.load(shipped, map_location="cpu", weights_only=True)
    original = torch.load(snapshot, map_location="cpu", weights_only=True)
    assert exported["training"]["steps"] == original["training"]["steps"] == 3
    for name, tensor in original["generator"].items():
        if tensor.dtype == torch.float32:
            assert exported["generator"][name].dtype == torch.float16
    model, reference = gaia_stim.load_model(str(shipped)), gaia_stim.load_model(str(snapshot))
    codes = reference.encode(np.full((2, 32, 32, 3), 0.5, np.float32))
    # float16 weights: the same model to within their rounding (2^-11 relative per weight)
    np.testing.assert_allclose(model.decode(codes), reference.decode(codes), atol=0.02)
    assert not (tmp_path / "data").joinpath("default.pt.tmp").exists()


def test_the_ae_arm_branches_from_a_gaia_pack_and_survives_a_lost_machine_in_its_own_pack(script, work, tmp_path, capsys):
    """The AE comparison's lifeline: branched from a pack of the GAIA run when the warm-up's checkpoint is
    gone, trained alone for --max-time, packed and started again elsewhere with its branch point."""
    gaia_pack = tmp_path / "gaia_pack.pt"
    script.main(["--work", str(work), "--pack", str(gaia_pack)])
    branched = tmp_path / "branched"
    shutil.copytree(work / "faces", branched / "faces")
    script.main(["--work", str(branched), "--arm", "ae", "--from-pack", str(gaia_pack)])
    state, source = weights(branched / "ae"), weights(work / "gaia")
    assert state["settings"]["ablation"] == "ae" and state["settings"]["lr_max"] == script.RECIPE["warmup_lr"]
    assert state["step"] == source["step"] == 3 and state["cpu_s"] == source["cpu_s"]
    for name, tensor in state["generator"].items():
        torch.testing.assert_close(tensor, source["generator"][name].half().float(), rtol=0, atol=0)
    branch = script.ae_start(str(branched))
    assert branch["step"] == 3 and branch["cpu_s"] == source["cpu_s"] and len(branch["pack_sha256"]) == 64
    assert not (branched / "gaia").exists()

    # no GAIA run beside it: the arm needs a time budget, and with one it trains as an autoencoder
    with pytest.raises(SystemExit, match="holds no GAIA run .* give --max-time"):
        script.main(["--work", str(branched), "--arm", "ae", "--threads", "1"])
    assert weights(branched / "ae")["step"] == 3
    script.main(["--work", str(branched), "--arm", "ae", "--threads", "1", "--max-time", "3"])
    trained = weights(branched / "ae")
    assert trained["step"] > 3 and trained["cpu_s"] > source["cpu_s"]
    assert trained["settings"]["ablation"] == "ae"

    # its own pack carries the branch point to the next machine
    ae_pack = tmp_path / "ae_pack.pt"
    script.main(["--work", str(branched), "--arm", "ae", "--pack", str(ae_pack)])
    assert torch.load(ae_pack, map_location="cpu", weights_only=True)["ae_branch"] == branch
    other = tmp_path / "other_machine"
    shutil.copytree(work / "faces", other / "faces")
    with pytest.raises(SystemExit, match="is a pack of the AE arm; start it with --arm ae"):
        script.main(["--work", str(other), "--from-pack", str(ae_pack)])
    assert not (other / "gaia").exists()
    script.main(["--work", str(other), "--arm", "ae", "--from-pack", str(ae_pack)])
    restored = weights(other / "ae")
    assert restored["step"] == trained["step"] and restored["cpu_s"] == trained["cpu_s"]
    assert restored["settings"]["ablation"] == "ae" and script.ae_start(str(other)) == branch

    # beside a GAIA run, the arm matches GAIA's CPU time since the branch point: none yet, so no step
    shutil.copytree(work / "gaia", branched / "gaia")
    capsys.readouterr()
    script.main(["--work", str(branched), "--arm", "ae", "--threads", "1"])
    assert "GAIA has used 0 CPU-s after step 3" in capsys.readouterr().out
    assert weights(branched / "ae")["step"] == trained["step"]


def test_the_late_arm_branches_gaia_from_an_ae_pack_and_reports_both_arms_cpu_time(script, work, tmp_path, capsys):
    """GAIA after a longer warm-up: branched from a pack of the AE arm, it trains the recipe's GAIA phase
    from the arm's weights and step, and its pack carries the branch point to the next machine."""
    gaia_pack, ae_pack = tmp_path / "gaia_pack.pt", tmp_path / "ae_pack.pt"
    script.main(["--work", str(work), "--pack", str(gaia_pack)])
    machine = tmp_path / "machine"
    shutil.copytree(work / "faces", machine / "faces")
    script.main(["--work", str(machine), "--arm", "ae", "--from-pack", str(gaia_pack)])
    script.main(["--work", str(machine), "--arm", "ae", "--threads", "1", "--max-time", "2"])
    script.main(["--work", str(machine), "--arm", "ae", "--pack", str(ae_pack)])
    ae = weights(machine / "ae")

    with pytest.raises(SystemExit, match="is a pack of the GAIA run; start it without --arm, or branch the late arm"):
        script.main(["--work", str(machine), "--arm", "late", "--from-pack", str(gaia_pack)])
    assert not (machine / "late").exists()
    with pytest.raises(SystemExit, match="holds no run: branch it"):
        script.main(["--work", str(machine), "--arm", "late", "--max-time", "2"])
    script.main(["--work", str(machine), "--arm", "late", "--from-pack", str(ae_pack)])
    state = weights(machine / "late")
    assert state["settings"]["ablation"] == "none" and state["settings"]["lr_max"] == script.RECIPE["lr_max"]
    assert state["settings"]["alpha"] == script.RECIPE["lr_max"] / 2
    assert state["step"] == ae["step"] and state["cpu_s"] == ae["cpu_s"]
    for name, tensor in state["discriminator"].items():
        torch.testing.assert_close(tensor, ae["discriminator"][name].half().float(), rtol=0, atol=0)
    branch = script.read_branch(str(machine), "late")
    assert branch["step"] == ae["step"] and branch["pack"] == "ae_pack.pt" and len(branch["pack_sha256"]) == 64

    with pytest.raises(SystemExit, match="give --max-time"):
        script.main(["--work", str(machine), "--arm", "late", "--threads", "1"])
    capsys.readouterr()
    script.main(["--work", str(machine), "--arm", "late", "--threads", "1", "--max-time", "2"])
    out = capsys.readouterr().out
    trained = weights(machine / "late")
    assert trained["step"] > ae["step"] and trained["settings"]["ablation"] == "none"
    # the GAIA phase from the branch on, at its learning rate (the warm-up's is 5 times higher)
    assert trained["warmup_ended"] == ae["step"]
    for optimiser in ("optimizer_g", "optimizer_d"):
        assert trained[optimiser]["param_groups"][0]["lr"] <= script.RECIPE["lr_max"]
    used = trained["cpu_s"] - ae["cpu_s"]
    assert f"the late arm has used {used:.0f} CPU-s after AE step {ae['step']}" in out
    assert f"the AE arm 0 (step {ae['step']})" in out  # (the AE arm has not trained since the branch)

    # --export without --export-from writes the arm's own model (WORK/late), not the GAIA run's
    exported = tmp_path / "late_export.pt"
    script.main(["--work", str(machine), "--arm", "late", "--export", str(exported)])
    assert torch.load(exported, map_location="cpu", weights_only=True)["training"]["steps"] == trained["step"]

    late_pack = tmp_path / "late_pack.pt"
    script.main(["--work", str(machine), "--arm", "late", "--pack", str(late_pack)])
    assert torch.load(late_pack, map_location="cpu", weights_only=True)["late_branch"] == branch
    other = tmp_path / "other_machine"
    shutil.copytree(work / "faces", other / "faces")
    for arm in ("gaia", "ae"):
        with pytest.raises(SystemExit, match="is a pack of the late arm; start it with --arm late"):
            script.main(["--work", str(other), "--arm", arm, "--from-pack", str(late_pack)])
    script.main(["--work", str(other), "--arm", "late", "--from-pack", str(late_pack)])
    restored = weights(other / "late")
    assert restored["step"] == trained["step"] and restored["settings"]["ablation"] == "none"
    assert script.read_branch(str(other), "late") == branch
