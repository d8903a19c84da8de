"""The MLDS protocols end to end in a PsychoPy window (under xvfb-run).

``gaia-stim continuum`` (the shipped default model, two example faces, 7 steps) ->
``gaia-stim trials --design mlds-triads`` -> ``protocols/mlds_triads.py --simulate`` with a known,
clearly non-linear scale (a logistic of width 0.1 centred at 0.35) -> ``gaia-stim scale --stimuli``
must recover its shape (correlation with the true standard scale > 0.95, more than 0.7 of it
crossed by level 0.5) -> ``gaia-stim continuum --spacing perceptual --scale`` writes a
set that ``gaia-stim verify`` accepts. The quadruples protocol runs a short list and writes its
response. Skipped without PsychoPy or xvfb-run, unless GAIA_STIM_REQUIRE_PSYCHOPY=1.
"""

import glob
import os
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from _psychopy_env import need_display, run_in_window
from gaia_stim.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"
FACES = ROOT / "examples" / "faces"
ENDS = ["--from", str(FACES / "face_00005.png"), "--to", str(FACES / "face_00006.png")]
CENTRE, WIDTH, SIGMA = 0.35, 0.1, 0.25


def true_scale(level):
    """The simulated observer's scale, standardised (0 at level 0, 1 at level 1) as gaia-stim scale reports it."""
    raw = lambda x: 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - CENTRE) / WIDTH))  # noqa: E731
    return (raw(level) - raw(0.0)) / (raw(1.0) - raw(0.0))


def invoke(*words):
    result = CliRunner().invoke(main, [str(word) for word in words])
    assert result.exit_code == 0, result.output
    return result


def simulate(script, trials, data_dir, *extra):
    run_in_window([PROTOCOLS / script, trials, "--participant", "sim", "--data-dir", data_dir, "--simulate", "--fast",
                   "--sim-seed", 5, "--window-size", 400, 300, *extra], timeout=300)
    [data_file] = glob.glob(str(data_dir / "sim_*.csv"))
    return data_file


def test_mlds_triads_protocol_to_a_recovered_scale_and_a_perceptual_continuum(tmp_path, monkeypatch):
    need_display()
    monkeypatch.chdir(tmp_path)
    invoke("continuum", *ENDS, "--steps", 7, "--out", "pilot")
    invoke("trials", "--stimuli", "pilot", "--design", "mlds-triads", "--reps", 8, "--seed", 3, "--out",
           "triads.csv")
    data_file = simulate("mlds_triads.py", "triads.csv", tmp_path / "data", "--sim-scale",
                         f"logistic:{CENTRE}:{WIDTH}", "--sim-sigma", SIGMA)
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    assert len(table) == 8 * 35 and table["chose_second_pair"].isin([0, 1]).all()
    assert set(table["sim_scale"]) == {f"logistic:{CENTRE}:{WIDTH}"}

    invoke("scale", data_file, "--out", "scale", "--stimuli", "pilot", "--bootstrap", 40, "--no-plot")
    fitted = pd.read_csv("scale/scale.csv")
    fitted = fitted[fitted["participant"].astype(str) == "sim"] if "participant" in fitted else fitted
    levels = fitted["morph_level"].to_numpy(dtype=float)
    values = fitted["scale"].to_numpy(dtype=float)
    truth = true_scale(levels)
    assert np.corrcoef(values, truth)[0, 1] > 0.95, (values, truth)
    # the fit sees the boundary: most of the scale is crossed below the middle of the continuum
    assert np.interp(0.5, levels, values) > 0.7

    invoke("continuum", *ENDS, "--steps", 7, "--spacing", "perceptual", "--scale", "scale", "--out", "main")
    main_levels = pd.read_csv("main/stimuli.csv")["morph_level"].to_numpy(dtype=float)
    assert np.sum(main_levels < 0.5) > 3  # steps crowd towards the observer's boundary
    verified = invoke("verify", "main")
    assert "intact" in verified.output, verified.output


def test_mlds_quadruples_protocol_writes_its_response(tmp_path, monkeypatch):
    need_display()
    monkeypatch.chdir(tmp_path)
    invoke("continuum", *ENDS, "--steps", 5, "--out", "pilot")
    invoke("trials", "--stimuli", "pilot", "--design", "mlds-quadruples", "--reps", 2, "--seed", 3, "--out",
           "quads.csv")
    data_file = simulate("mlds_quadruples.py", "quads.csv", tmp_path / "data", "--sim-scale", "power:2",
                         "--sim-sigma", 0.05)
    table = pd.read_csv(data_file, encoding="utf-8-sig")
    listed = pd.read_csv("quads.csv")
    assert len(table) == len(listed) == 10 and table["chose_second_pair"].isin([0, 1]).all()
    assert list(table["first_pair"]) == list(listed["first_pair"])
    # chosen_pair names the key's side: second = right
    assert ((table["chosen_pair"] == "second") == (table["chose_second_pair"] == 1)).all()
    assert ((table["response"] == "right") == (table["chose_second_pair"] == 1)).all()
