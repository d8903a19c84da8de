# Set-up and everyday commands. Everything lives in the project's own virtual environment (.venv).
#   make demo   create .venv, install gaia-stim, write a morph continuum with the shipped model
#   make test   install the test dependencies (PsychoPy included) and run the test suite
#               (the explore page's browser test needs Debian's chromium: apt-get install chromium;
#               it is skipped without it, and Playwright never downloads a browser)
# Both are idempotent: a second run only reinstalls when pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned; an unpinned torch pulls a multi-GB CUDA build. On Linux, PyPI's torch is the
# CUDA build: `make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu` installs the CPU build.
TORCH := torch==2.13.0
TORCH_INDEX ?=
PIP_TORCH := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(PIP_TORCH) $(TORCH)
	$(BIN)/pip install --quiet $(PIP_TORCH) $(TORCH) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet $(PIP_TORCH) $(TORCH) -e ".[test,psychopy,perceptual,psignifit]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/gaia-stim continuum --from examples/faces/face_00005.png --to examples/faces/face_00006.png \
		--steps 11 --out out/continuum_face_00005_to_face_00006 --force
	@echo "open out/continuum_face_00005_to_face_00006/contact_sheet.png"

test: install-test
	$(BIN)/python -m pytest -q

bench: install-test
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/cli_speed.py
	$(BIN)/python benchmarks/live_speed.py

clean:
	rm -rf $(VENV) out
