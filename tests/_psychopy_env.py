"""Skip PsychoPy tests where PsychoPy or Xvfb is missing, unless GAIA_STIM_REQUIRE_PSYCHOPY=1 (CI).

CI sets GAIA_STIM_REQUIRE_PSYCHOPY=1 so a missing PsychoPy or xvfb-run fails these tests instead
of skipping them silently.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

REQUIRED = os.environ.get("GAIA_STIM_REQUIRE_PSYCHOPY") == "1"
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24"]


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason}, and GAIA_STIM_REQUIRE_PSYCHOPY=1 says these tests must run")
    pytest.skip(reason)


def need_psychopy():
    """Skip (or fail in CI) unless ``psychopy`` is importable."""
    if importlib.util.find_spec("psychopy") is None:
        _missing("PsychoPy is not installed (pip install -e '.[psychopy]')")


def need_display():
    """Skip (or fail in CI) unless PsychoPy and xvfb-run are there; return the command prefix."""
    need_psychopy()
    if shutil.which("xvfb-run") is None:
        _missing("xvfb-run is not installed (apt-get install xvfb)")
    return XVFB


def run_in_window(arguments, timeout=600, env=None, cwd=None):
    """Run ``python ARGUMENTS`` in a virtual X display; fail with its output if it fails."""
    command = need_display() + [sys.executable] + [str(a) for a in arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, cwd=cwd)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result
