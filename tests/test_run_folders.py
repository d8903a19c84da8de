"""Run folders: one process trains a run at a time, and a folder with a trained model is never started afresh."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from gaia_stim.cli import main
from gaia_stim.core.atomic import LOCK_FILE, folder_lock


def train(*arguments):
    return CliRunner().invoke(main, ["train", "--preset", "tiny", "--batch-size", "8", *arguments])


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def run(tmp_path, blob_folder):
    result = train("--data", str(blob_folder), "--out", str(tmp_path / "run"), "--steps", "2")
    assert result.exit_code == 0, result.output
    return tmp_path / "run"


def test_a_second_resume_of_a_run_in_use_is_refused_with_the_holder_s_pid(run):
    before = sha256(run / "checkpoint.pt")
    with folder_lock(run, "the run folder"):
        result = train("--out", str(run), "--steps", "4", "--resume")
    assert result.exit_code == 1
    assert "in use by another gaia-stim process" in result.output and f"pid {os.getpid()}" in result.output
    assert "Traceback" not in result.output
    assert sha256(run / "checkpoint.pt") == before  # the refused process wrote nothing
    assert train("--out", str(run), "--steps", "4", "--resume").exit_code == 0  # free again afterwards


def test_a_lock_dies_with_its_process_even_under_kill_9(run):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from gaia_stim.core.atomic import folder_lock\n"
         "with folder_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(run)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = train("--out", str(run), "--steps", "3", "--resume")
        assert refused.exit_code == 1 and f"pid {holder.pid}" in refused.output
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / LOCK_FILE).exists()  # the file stays; the OS lock on it is gone
    result = train("--out", str(run), "--steps", "3", "--resume")
    assert result.exit_code == 0, result.output


def test_a_new_run_in_a_folder_in_use_is_refused(tmp_path, blob_folder):
    with folder_lock(tmp_path / "new", "the run folder"):
        result = train("--data", str(blob_folder), "--out", str(tmp_path / "new"), "--steps", "1")
    assert result.exit_code == 1 and "in use by another gaia-stim process" in result.output
    assert sorted(os.listdir(tmp_path / "new")) == [LOCK_FILE]
    # a folder left with only a lock file is an unstarted run: it can be used
    assert train("--data", str(blob_folder), "--out", str(tmp_path / "new"), "--steps", "1").exit_code == 0


def test_a_folder_with_a_model_but_no_checkpoint_is_never_started_afresh(run, blob_folder):
    os.remove(run / "checkpoint.pt")
    before = sha256(run / "model.pt")
    result = train("--data", str(blob_folder), "--out", str(run), "--steps", "2")
    assert result.exit_code == 1 and "never started afresh" in result.output
    assert sha256(run / "model.pt") == before and (run / "metrics.csv").exists()
