"""Interruptions at any moment: Ctrl-C, SIGTERM and kill -9 lose nothing and resume exactly.

Training: a signal that arrives anywhere inside a step lets that step finish, saves, and the
resumed run is bit-identical to an uninterrupted one. A loss that turns NaN stops the run before
it is applied. Stimulus and face sets: a process killed while writing leaves the old set or the
new one, never a mixture, and the next run removes what it left behind.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from gaia_stim.core.errors import Terminated, TrainingDiverged
from gaia_stim.model import Trainer
from gaia_stim.core.atomic import temporary_name

from _settings import tiny_settings

STEPS = 6


def settings(**changes):
    return tiny_settings(**{"seed": 5, **changes})


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def train_quietly(trainer, steps):
    return trainer.train(steps, log_every=1, checkpoint_every=100, sample_every=0, progress=False)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, blobs):
    trainer = Trainer(tmp_path_factory.mktemp("straight") / "run", blobs, settings(), device="cpu")
    train_quietly(trainer, STEPS)
    return trainer


# Places inside one training step where a signal can land: before and after each piece of work.
MOMENTS = [
    ("generator", "encode"), ("generator", "decode_latent"), ("discriminator", "forward"),
    ("optimizer_g", "step"), ("optimizer_d", "step"),
]


def signal_inside_a_step(trainer, monkeypatch, signum, step, moment):
    """Send ``signum`` to this process when ``trainer`` reaches ``moment`` during ``step``."""
    owner, method = moment
    target = getattr(trainer, owner)
    original = getattr(target, method)

    def wrapped(*args, **kwargs):
        if trainer.step == step:
            os.kill(os.getpid(), signum)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, method, wrapped)


@pytest.mark.parametrize("signum, expected", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
@pytest.mark.parametrize("trial", range(3))
def test_a_signal_inside_a_step_saves_that_step_and_resumes_exactly(
    tmp_path, blobs, uninterrupted, monkeypatch, signum, expected, trial
):
    rng = np.random.default_rng([trial, signum])
    step = int(rng.integers(1, STEPS - 1))
    moment = MOMENTS[int(rng.integers(len(MOMENTS)))]
    trainer = Trainer(tmp_path / "run", blobs, settings(), device="cpu")
    signal_inside_a_step(trainer, monkeypatch, signum, step, moment)
    handler_before = signal.getsignal(signum)
    with pytest.raises(expected):
        train_quietly(trainer, STEPS)
    assert signal.getsignal(signum) is handler_before  # the trainer's handlers are removed again
    monkeypatch.undo()
    assert trainer.step == step + 1  # the step in progress was completed, then saved

    resumed = Trainer.resume(tmp_path / "run", blobs)
    assert resumed.step == step + 1
    train_quietly(resumed, STEPS)
    for name in ("generator", "discriminator"):
        assert states_equal(getattr(resumed, name).state_dict(), getattr(uninterrupted, name).state_dict()), (
            name, step, moment,
        )
    for name in ("optimizer_g", "optimizer_d"):
        a, b = getattr(resumed, name).state_dict()["state"], getattr(uninterrupted, name).state_dict()["state"]
        assert all(states_equal(a[k], b[k]) for k in a), name
    assert not [p for p in os.listdir(tmp_path / "run") if p.startswith(".")]


def test_a_second_signal_stops_at_once_and_keeps_the_last_checkpoint(tmp_path, blobs, monkeypatch):
    trainer = Trainer(tmp_path / "run", blobs, settings(), device="cpu")
    train_quietly(trainer, 2)
    checkpoint = (tmp_path / "run" / "checkpoint.pt").read_bytes()

    original = trainer.optimizer_g.step

    def twice(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(trainer.optimizer_g, "step", twice)
    with pytest.raises(KeyboardInterrupt):
        train_quietly(trainer, STEPS)
    assert trainer.saved_step == 2
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == checkpoint
    assert Trainer.resume(tmp_path / "run", blobs).step == 2


def test_a_non_finite_loss_stops_before_it_is_applied(tmp_path, blobs, monkeypatch):
    trainer = Trainer(tmp_path / "run", blobs, settings(), device="cpu")
    trainer.train(3, log_every=1, checkpoint_every=2, sample_every=0, progress=False)
    saved = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    weights = {k: v.clone() for k, v in trainer.generator.state_dict().items()}

    from gaia_stim.model import trainer as trainer_module

    real_losses = trainer_module.gaia_losses

    def poisoned(*args, **kwargs):
        terms = real_losses(*args, **kwargs)
        terms["loss_g"] = terms["loss_g"] * float("nan")
        return terms

    monkeypatch.setattr(trainer_module, "gaia_losses", poisoned)
    with pytest.raises(TrainingDiverged, match=r"at step 4: L_G became NaN or infinite .*step 3\) is intact"):
        trainer.train(10, log_every=1, checkpoint_every=2, sample_every=0, progress=False)
    assert trainer.step == 3 and states_equal(trainer.generator.state_dict(), weights)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == saved


def test_a_run_that_stops_before_its_first_step_can_be_resumed(tmp_path, blobs, monkeypatch):
    trainer = Trainer(tmp_path / "run", blobs, settings(), device="cpu")
    monkeypatch.setattr(Trainer, "train_step", lambda self, x: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError, match="crash"):
        train_quietly(trainer, STEPS)
    monkeypatch.undo()
    assert Trainer.resume(tmp_path / "run", blobs).step == 0


# ------------------------------------------------------------------------------------------
# the real command, in its own process


def run_cli(arguments, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "gaia_stim", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def train_arguments(data, run, steps):
    return ["train", "--data", str(data), "--out", str(run), "--preset", "tiny", "--batch-size", "8",
            "--seed", "2", "--steps", str(steps), "--log-every", "1", "--checkpoint-every", "1000",
            "--sample-every", "1000"]


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_train_command_stops_on_a_signal_and_the_same_command_resumes(tmp_path, blob_folder, signum, status):
    steps = 40
    straight = run_cli(train_arguments(blob_folder, tmp_path / "straight", steps))
    assert straight.wait(timeout=300) == 0, straight.stderr.read()

    run = tmp_path / "run"
    process = run_cli(train_arguments(blob_folder, run, steps))
    deadline = time.monotonic() + 120
    while not (run / "metrics.csv").exists() and time.monotonic() < deadline:  # training has begun
        time.sleep(0.02)
    time.sleep(float(np.random.default_rng(signum).uniform(0, 0.3)))
    process.send_signal(signum)
    assert process.wait(timeout=120) == status
    error = process.stderr.read()
    assert "Continue with the same command and --resume" in error and "Traceback" not in error

    resumed = run_cli(train_arguments(blob_folder, run, steps) + ["--resume"])
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    final = torch.load(run / "checkpoint.pt", weights_only=True)
    expected = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    assert final["step"] == steps
    for name in ("generator", "discriminator"):
        assert states_equal(final[name], expected[name]), name


def set_is_whole(folder):
    """Every file the manifest lists is there, unchanged, and nothing else is."""
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {record["file"]: record["sha256"] for record in manifest["files"]}
    present = {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*") if path.is_file() and path.name != "manifest.json"
    }
    return present == listed, manifest


@pytest.mark.slow
def test_kill_9_while_a_set_is_written_leaves_the_old_or_the_new_set(tmp_path):
    out = tmp_path / "faces"
    base = ["faces", "--size", "32", "--out", str(out), "--force"]
    # 4,000 faces take about 2 s to write here: most kills land while the new set is built
    first = run_cli(base + ["--n", "4000", "--seed", "1"])
    assert first.wait(timeout=120) == 0, first.stderr.read()
    rng = np.random.default_rng(0)
    outcomes = []
    for trial in range(6):
        seed = 2 + trial
        process = run_cli(base + ["--n", "4000", "--seed", str(seed)])
        deadline = time.monotonic() + 120
        while not any(".gaia-stim-tmp-" in name for name in os.listdir(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.005)  # the new set is being built
        time.sleep(float(rng.uniform(0, 0.6)))
        process.kill()
        process.wait()
        whole, manifest = set_is_whole(out)
        assert whole, trial
        outcomes.append("new" if manifest["parameters"]["seed"] == seed else "old")
    assert "old" in outcomes  # at least one kill landed while the new set was being written
    # a later run cleans up what the killed ones left beside the set
    final = run_cli(base + ["--n", "3", "--seed", "99"])
    assert final.wait(timeout=120) == 0, final.stderr.read()
    assert sorted(os.listdir(tmp_path)) == ["faces"]
    assert set_is_whole(out)[0]


def test_leftovers_of_a_killed_process_are_removed_and_a_set_aside_set_is_put_back(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    out = tmp_path / "set"
    mine = tmp_path / temporary_name("set").replace(f"-{os.getpid()}-", f"-{pid}-")
    aside = tmp_path / temporary_name("set", kind="old").replace(f"-{os.getpid()}-", f"-{pid}-")
    running = tmp_path / temporary_name("set")  # this process is alive: not a leftover
    for folder in (mine, aside, running):
        folder.mkdir()
    (aside / "manifest.json").write_text("{}")
    (tmp_path / ".set.notes").write_text("a user's hidden file")

    from gaia_stim.core.atomic import remove_leftovers

    assert remove_leftovers(out) == [mine.name]
    assert (out / "manifest.json").exists()  # the set that was set aside is back in place
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".set.notes", running.name, "set"])


def test_folders_and_files_get_the_usual_permissions(tmp_path):
    from gaia_stim.datasets import write_faces

    old = os.umask(0o022)
    try:
        out = write_faces(tmp_path / "faces", 2, size=16)
    finally:
        os.umask(old)
    assert os.stat(out).st_mode & 0o777 == 0o755
    assert os.stat(os.path.join(out, "manifest.json")).st_mode & 0o777 == 0o644


def test_an_interrupted_file_write_keeps_the_old_file(tmp_path):
    # a model file interrupted half-way is never seen: the old one stays until the new is whole
    from gaia_stim.core.atomic import atomic_write

    path = tmp_path / "file.bin"
    atomic_write(path, lambda stream: stream.write(b"old"))

    def broken(stream):
        stream.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["file.bin"]
