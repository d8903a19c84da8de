"""``gaia-stim scale`` on data as the MLDS protocols write them: one trial list per participant.

The protocols copy into every row the sha256 of the trial list they ran (``trial_list_sha256``)
and of the stimulus set's manifest and table (``set_manifest_sha256``, ``set_table_sha256``, from
the trial list's JSON file). Participants usually run trial lists of their own (another seed), so
their files differ in the first and must still be fitted together; the other two name the set, and
must be the ``--stimuli`` set's.
"""

import csv
import hashlib
import json
import types

import numpy as np
from click.testing import CliRunner

from gaia_stim.cli import main
from gaia_stim.designs.mlds_trials import mlds_trials

N_LEVELS = 9


def true_scale(x):
    """A non-linear observer: a logistic with its boundary off-centre at 0.35, 0 to 1."""
    raw = lambda v: 1.0 / (1.0 + np.exp(-(np.asarray(v, dtype=np.float64) - 0.35) / 0.1))  # noqa: E731
    return (raw(x) - raw(0.0)) / (raw(1.0) - raw(0.0))


def stimulus_set(folder):
    from gaia_stim.io.sets import write_stimulus_set

    images = np.stack([np.full((8, 8, 1), 25 * i, dtype=np.uint8) for i in range(N_LEVELS)])
    rows = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / 8} for i in range(N_LEVELS)]
    write_stimulus_set(folder, images, rows, {"seed": None}, types.SimpleNamespace(name="test", file_sha256="ab" * 32),
                       kind="continuum")
    return folder


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def protocol_data(path, participant, seed, manifest_sha256, table_sha256, n_practice=0):
    """A participant's data file with the protocols' identity columns; their own trial list (seed).

    ``n_practice`` practice rows (``is_practice`` 1, as ``--practice`` writes them) come first, all
    answered "second pair", which no scale would predict for these trials.
    """
    rng = np.random.default_rng(seed)
    stimuli = [{"image_file": f"images/step_{i:02d}.png", "step": i, "morph_level": i / 8} for i in range(N_LEVELS)]
    rows = mlds_trials(stimuli, "mlds-triads", 2, rng)
    psi = true_scale(np.array([[row[f"morph_{k}"] for k in (1, 2, 3)] for row in rows]))
    answers = (np.abs(psi[:, 2] - psi[:, 1]) - np.abs(psi[:, 1] - psi[:, 0]) + 0.2 * rng.standard_normal(len(rows)) > 0)
    ids = {"trial_list_sha256": hashlib.sha256(f"trial list {seed}".encode()).hexdigest(),
           "set_manifest_sha256": manifest_sha256, "set_table_sha256": table_sha256}
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=["is_practice", "participant", *rows[0], "chose_second_pair", *ids])
        writer.writeheader()
        for row in rows[:n_practice]:
            writer.writerow({"is_practice": 1, "participant": participant, **row, "chose_second_pair": 1, **ids})
        for row, answer in zip(rows, answers):
            writer.writerow({"is_practice": 0, "participant": participant, **row, "chose_second_pair": int(answer),
                             **ids})
    return str(path)


def test_participants_with_trial_lists_of_their_own_are_fitted_together(tmp_path):
    folder = stimulus_set(tmp_path / "set")
    manifest, table = sha256(folder / "manifest.json"), sha256(folder / "stimuli.csv")
    files = [protocol_data(tmp_path / f"P0{n}.csv", f"P0{n}", n, manifest, table) for n in (1, 2)]
    out = tmp_path / "scale"
    result = CliRunner().invoke(main, ["scale", *files, "--stimuli", str(folder), "--out", str(out),
                                       "--bootstrap", "10", "--no-plot"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "scale.json").read_text())
    # the set's hashes are recorded; the trial lists' are not an identity of the set
    assert record["stimulus_set"]["from_data"] == {"set_manifest_sha256": manifest, "set_table_sha256": table}
    assert [f["participant"] for f in record["fits"]] == ["P01", "P02", "group"]


def test_protocol_data_of_another_stimulus_set_are_refused(tmp_path):
    folder = stimulus_set(tmp_path / "set")
    table = sha256(folder / "stimuli.csv")
    other = protocol_data(tmp_path / "P01.csv", "P01", 1, "cd" * 32, table)
    out = tmp_path / "scale"
    result = CliRunner().invoke(main, ["scale", other, "--stimuli", str(folder), "--out", str(out),
                                       "--bootstrap", "10", "--no-plot"])
    assert result.exit_code == 1
    assert "set_manifest_sha256" in result.output and "another stimulus set" in result.output, result.output
    assert not out.exists()


def test_practice_trials_are_not_data(tmp_path):
    from gaia_stim.analysis.mlds_data import read_scale_data

    folder = stimulus_set(tmp_path / "set")
    manifest, table = sha256(folder / "manifest.json"), sha256(folder / "stimuli.csv")
    plain = protocol_data(tmp_path / "plain.csv", "P01", 3, manifest, table)
    practised = protocol_data(tmp_path / "practised.csv", "P01", 3, manifest, table, n_practice=8)
    (without,) = read_scale_data([plain])["groups"].values()
    (with_practice,) = read_scale_data([practised])["groups"].values()
    assert len(with_practice["responses"]) == len(without["responses"]) == 2 * 84  # 2 blocks of C(9, 3) triads
    np.testing.assert_array_equal(with_practice["trials"], without["trials"])
    np.testing.assert_array_equal(with_practice["responses"], without["responses"])
