"""The gaia-stim command line: fast help, training through the CLI, one-line errors."""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import read_set
from gaia_stim.cli import main


def _command_paths(group=main, prefix=()):
    """Every command and subcommand of the registry (the click group), as argument lists."""
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append(list(prefix) + [name])
        if hasattr(command, "commands"):
            paths += _command_paths(command, prefix + (name,))
    return paths


COMMAND_PATHS = _command_paths()


def test_the_registry_holds_every_command_module():
    # one module per command in gaia_stim/cli/ (besides the shared _*.py), each registered on the group
    import gaia_stim.cli

    folder = os.path.dirname(gaia_stim.cli.__file__)
    modules = {name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("_")}
    assert modules == set(main.commands), "a command module is not registered, or a command has no module"


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from gaia_stim.cli import main\n"
        f"for path in [[]] + {COMMAND_PATHS!r}:\n"
        "    try:\n        main(path + ['--help'])\n    except SystemExit:\n        pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("NO-TORCH")


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(main.commands)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_every_command_has_help_with_a_description(path):
    result = CliRunner().invoke(main, path + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Usage: ")
    description = result.output.split("\n\n")[1].strip()
    assert description, f"gaia-stim {' '.join(path)} --help has no description"
    assert "--help" in result.output


def test_train_writes_a_loadable_run_and_resumes(tmp_path, blob_folder):
    runner = CliRunner()
    run = tmp_path / "run"
    args = ["train", "--data", str(blob_folder), "--out", str(run), "--preset", "tiny", "--batch-size", "8",
            "--seed", "3", "--log-every", "1", "--sample-every", "2"]
    result = runner.invoke(main, args + ["--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "done: step 2 of 2" in result.output
    for name in ("model.pt", "checkpoint.pt", "metrics.csv", "run.json", "samples/step_0000002.png"):
        assert (run / name).exists(), name

    again = runner.invoke(main, args + ["--steps", "2"])
    assert again.exit_code == 1 and "--resume" in again.output and "Traceback" not in again.output

    resumed = runner.invoke(main, ["train", "--out", str(run), "--steps", "4", "--resume", "--log-every", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert "step 4 of 4" in resumed.output
    lines = (run / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["step", "1", "2", "3", "4"]

    changed = runner.invoke(main, ["train", "--out", str(run), "--steps", "6", "--resume", "--seed", "4"])
    assert changed.exit_code == 1 and "--seed 4 (the run has 3)" in changed.output

    info = runner.invoke(main, ["info", "--model", str(run)])
    assert info.exit_code == 0 and "latent_dim: 96" in info.output


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.mkdir(), "no images in"),
        (lambda p: (p.mkdir(), (p / "x.png").write_bytes(b"garbage")), "x.png"),
        (lambda p: None, "does not exist"),
    ],
)
def test_train_bad_data_is_one_clear_line(tmp_path, make, message):
    data = tmp_path / "data"
    make(data)
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--preset", "tiny"])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["soon", "-5m", "0s"])
def test_bad_max_time_is_refused(tmp_path, blob_folder, value):
    result = CliRunner().invoke(
        main, ["train", "--data", str(blob_folder), "--out", str(tmp_path / "r"), "--max-time", value]
    )
    assert result.exit_code == 2 and "duration" in result.output


def test_odd_batch_size_is_refused(tmp_path, blob_folder):
    result = CliRunner().invoke(
        main, ["train", "--data", str(blob_folder), "--out", str(tmp_path / "r"), "--preset", "tiny", "--batch-size", "5"]
    )
    assert result.exit_code == 1 and "even" in result.output


def test_model_that_does_not_exist(tmp_path):
    result = CliRunner().invoke(main, ["info", "--model", str(tmp_path / "nope.pt")])
    assert result.exit_code == 1 and "not found" in result.output and "Traceback" not in result.output


def test_grid_wheel_mean_commands(squaring_commands):
    runner = CliRunner()
    result = runner.invoke(main, ["grid", "--image", "0.png", "--image", "1.png", "--image", "2.png", "--image", "3.png",
                                  "--rows", "3", "--columns", "2", "--u-range", "0", "2", "--out", "g"])
    assert result.exit_code == 0, result.output
    table, manifest = read_set("g")
    assert len(table) == 6 and table["u"].max() == 2.0 and manifest["kind"] == "grid"
    result = runner.invoke(main, ["wheel", "--centre", "0.png", "--towards", "1.png", "2.png", "--n", "6",
                                  "--radius", "0.5", "--out", "w"])
    assert result.exit_code == 0, result.output
    table, manifest = read_set("w")
    assert table["angle_deg"].tolist() == pytest.approx([0, 60, 120, 180, 240, 300])
    assert manifest["parameters"]["radius"] == 0.5
    result = runner.invoke(main, ["mean", "0.png", "1.png", "2.png", "--out", "m", "--match", "histogram"])
    assert result.exit_code == 0, result.output
    assert read_set("m")[1]["adjust"]["match"] == "histogram"
    for folder in ("g", "w", "m"):
        assert runner.invoke(main, ["verify", folder]).exit_code == 0, folder
