"""The benchmark scripts: face-quality measurements are right on cases with known answers."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from conftest import RenderingModel
from gaia_stim.datasets import PARAMETERS, make_faces, render

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
SIZE = 32


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def face_quality():
    return load_script("face_quality")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A real model file, trained for one step on synthetic faces at 32 px."""
    import torch

    import gaia_stim
    from gaia_stim.model import Trainer, preset_config

    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("benchmarks") / "run"
    settings = {
        "preset": "tiny", "config": preset_config("tiny"), "batch_size": 8, "seed": 0,
        "ablation": "none", "lr_max": 1e-3, "alpha": 5e-4,
    }
    trainer = Trainer(run, make_faces(16, size=SIZE, seed=0)["images"], settings, device="cpu")
    trainer.train(1, log_every=1, sample_every=0, progress=False)
    return gaia_stim.load_model(run)


def test_true_morph_ends_are_the_two_faces_and_crossfade_is_exact_there(face_quality):
    params_a, params_b = face_quality.held_out_pairs(3, seed=1)
    levels = face_quality.morph_levels(5)
    truth = face_quality.true_morphs(params_a, params_b, levels, SIZE)
    assert truth.shape == (3, 5, SIZE, SIZE, 3)
    np.testing.assert_array_equal(truth[:, 0], render(params_a, SIZE))
    np.testing.assert_array_equal(truth[:, -1], render(params_b, SIZE))
    fade = face_quality.crossfades(truth[:, 0], truth[:, -1], levels)
    errors = face_quality.mean_absolute_error(fade, truth)
    assert errors.shape == (3, 5)
    assert np.all(errors[:, [0, -1]] == 0.0)
    assert np.all(errors[:, 1:-1] > 0.0)


def test_middle_steps_are_levels_point_three_to_point_seven(face_quality):
    levels = face_quality.morph_levels(11)
    assert levels[0] == 0.0 and levels[-1] == 1.0
    np.testing.assert_allclose(levels[face_quality.middle_steps(levels)], [0.3, 0.4, 0.5, 0.6, 0.7])


def test_held_out_faces_differ_from_training_faces(face_quality):
    params_a, params_b = face_quality.held_out_pairs(4, seed=face_quality.DEFAULT_SEED)
    training = make_faces(8, size=16, seed=0)["parameters"][list(PARAMETERS)].to_numpy()
    assert not np.isclose(params_a[:, None], training[None]).all(axis=-1).any()
    assert not np.allclose(params_a, params_b)


@pytest.mark.parametrize(
    "spec, expected",
    [("default", ("default", "default")), ("runs/ae_small=AE", ("runs/ae_small", "AE")),
     ("runs/gaia/", ("runs/gaia/", "gaia")), ("m/model.pt", ("m/model.pt", "model"))],
)
def test_model_specs(face_quality, spec, expected):
    assert face_quality.parse_model_spec(spec) == expected


def test_perfect_model_has_zero_morph_error(face_quality):
    n_pairs, n_steps = 2, 5
    params_a, params_b = face_quality.held_out_pairs(n_pairs, seed=3)
    levels = face_quality.morph_levels(n_steps)
    every_step = np.clip(face_quality.interpolate(params_a, params_b, levels), 0, 1).reshape(-1, len(PARAMETERS))
    model = RenderingModel(every_step, size=SIZE)
    fidelity = face_quality.morph_fidelity([model], ["perfect"], params_a, params_b, n_steps)
    assert fidelity["vs_truth"]["perfect"].shape == (n_pairs, n_steps)
    assert fidelity["vs_truth"]["perfect"].max() < 1e-4  # latents pass through float32
    assert fidelity["vs_own"]["perfect"].max() < 1e-4
    assert fidelity["vs_truth"]["crossfade"][:, 2].min() > 1e-3


def test_real_model_tables_have_the_right_shape(face_quality, tiny_model):
    n_steps, n_pairs = 5, 3
    result = face_quality.run(
        [tiny_model, tiny_model], ["GAIA", "AE"], seed=5, n_recon=4, n_pairs=n_pairs, n_steps=n_steps
    )
    per_step = result["morph"]["per_step"]
    assert set(per_step) == {"crossfade", "GAIA", "AE"}
    for name in ("GAIA", "AE"):
        assert len(per_step[name]["vs_true_morph"]) == n_steps
        assert len(per_step[name]["vs_own_rendering"]) == n_steps
        assert per_step[name]["vs_own_rendering"][0] == 0.0  # the morph's ends are the reconstructions
    assert per_step["crossfade"]["vs_true_morph"][0] == 0.0 == per_step["crossfade"]["vs_true_morph"][-1]
    assert result["morph"]["middle"]["AE"]["ratio_GAIA_over_this_vs_true_morph"] == pytest.approx(1.0)
    assert -1 <= result["reconstruction"]["GAIA"]["ssim_mean"] <= 1
    text = face_quality.report(result)
    lines = text.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:2] == ["step", "morph_level"])
    assert lines[header].split() == ["step", "morph_level", "crossfade", "GAIA", "AE"]
    assert [line.split()[0] for line in lines[header + 1 : header + 1 + n_steps]] == ["0", "1", "2", "3", "4"]
    assert "morph vs model's own rendering" in text.lower()


def test_command_line_writes_json_and_figure(face_quality, tiny_model, tmp_path, capsys):
    out_json, out_png = tmp_path / "quality.json", tmp_path / "quality.png"
    status = face_quality.main([
        "--model", f"{tiny_model.path}=GAIA", "--n-recon", "2", "--n-pairs", "3", "--steps", "3",
        "--json", str(out_json), "--figure", str(out_png),
    ])
    assert status == 0
    record = json.loads(out_json.read_text())
    assert record["seed"] == 12345 and record["models"][0]["file_sha256"] == tiny_model.file_sha256
    assert {"gaia_stim", "torch"} <= set(record["versions"])
    from PIL import Image

    assert Image.open(out_png).size[0] > 3 * SIZE
    assert "held-out faces from seed 12345" in capsys.readouterr().out


def test_bad_model_exits_with_one_line(face_quality, tmp_path):
    with pytest.raises(SystemExit) as raised:
        face_quality.main(["--model", f"{tmp_path / 'missing'}=X"])
    message = str(raised.value.code)
    assert "--model" in message and "not found" in message and "\n" not in message


def test_cli_speed_names_what_is_missing(tmp_path):
    cli_speed = load_script("cli_speed")
    with pytest.raises(SystemExit) as raised:
        cli_speed.main(["--from", str(tmp_path / "a.png"), "--to", str(tmp_path / "b.png"), "--model", str(tmp_path / "m")])
    message = str(raised.value.code)
    assert "a.png" in message and "b.png" in message and "--model" in message and "\n" not in message


def test_cli_speed_report_states_the_targets():
    cli_speed = load_script("cli_speed")
    names = list(cli_speed.commands("a", "b", "default", "gaia-stim"))
    table, summary = cli_speed.report({names[0]: [1.0, 1.2, 1.1], names[1]: [0.1, 0.2, 0.1], names[2]: [1.5, 1.6, 2.0]})
    assert summary["continuum_over_import_torch"] == pytest.approx(1.6 / 1.1)
    assert "continuum / import torch: 1.45x (target <= 1.6x): met" in table
    assert "--help: 0.100 s (target <= 0.3 s): met" in table


def test_interpolation_quality_scores_a_perfect_model_as_real_and_on_the_line():
    quality = load_script("interpolation_quality")
    from gaia_stim.datasets import sample_parameters

    n_pairs, n_recon, seed = 3, 4, 99
    params_a, params_b = load_script("face_quality").held_out_pairs(n_pairs, seed)  # evaluate draws these
    path = quality.interpolate(params_a, params_b, quality.morph_levels(11)).reshape(-1, len(PARAMETERS))
    recon = sample_parameters(n_recon, np.random.default_rng([seed, 2]))
    model = RenderingModel(np.clip(np.concatenate([path, recon]), 0.0, 1.0), size=SIZE)
    rows, kept = quality.evaluate([model], ["perfect"], "faces", n_pairs, n_recon, seed=seed)
    perfect, fade = rows
    assert perfect["method"] == "perfect" and fade["method"] == quality.CROSSFADE
    assert perfect["recon_ssim"] == pytest.approx(1.0) and perfect["pixel_error"] < 1e-6
    assert perfect["realism_pixel"] < 0.003 and perfect["path_deviation"] < 0.01 and perfect["step_cv"] < 0.05
    # the cross-fade is off the family in the middle, and its estimated faces leave the straight line
    assert fade["realism_pixel"] > 5 * perfect["realism_pixel"] + 0.005 and fade["pixel_error"] > 0.005
    assert fade["path_deviation"] > 0.02
    assert set(kept) == {"true morph", "perfect", quality.CROSSFADE}


def test_shapes_family_renders_its_parameters():
    shapes = load_script("shapes_family")
    small, large = np.full(8, 0.5), np.full(8, 0.5)
    small[2], large[2] = 0.0, 1.0  # size
    images = shapes.render(np.stack([small, large]), SIZE)
    background = images[:, 0, 0]
    covered = (np.abs(images - background[:, None, None]).sum(-1) > 0.1).mean(axis=(1, 2))
    assert images.shape == (2, SIZE, SIZE, 3) and 0.05 < covered[0] < covered[1] < 0.9
    left, right = np.full(8, 0.5), np.full(8, 0.5)
    left[0], right[0] = 0.0, 1.0  # x: the shape's centre of mass moves to the right
    columns = np.arange(SIZE)
    mass = [(np.abs(im - im[0, 0]).sum(-1).sum(0) * columns).sum() / np.abs(im - im[0, 0]).sum() for im in
            shapes.render(np.stack([left, right]), SIZE)]
    assert mass[0] + 4 < mass[1]


def test_attribute_axes_benchmark_measures_gain_one_and_no_leakage_for_exact_axes():
    from gaia_stim.stimuli.axes import AttributeAxes

    bench = load_script("attribute_axes")
    params = make_faces(300, size=SIZE, seed=4)["parameters"][list(PARAMETERS)]
    axes = AttributeAxes().fit(params.to_numpy(), params)  # codes = parameters: directions = identity
    start = 0.5 + 0.3 * (params.to_numpy()[:2] - 0.5)
    amounts = np.linspace(-0.2, 0.2, 3)
    for name in ("skin_tone", "mouth_width"):
        _, measured = bench.measure(RenderingModel(size=SIZE), axes, start, name, amounts, "all")
        slopes = bench.slopes(amounts, measured).mean(axis=0)
        index = PARAMETERS.index(name)
        assert slopes[index] == pytest.approx(1.0, abs=0.02)
        assert np.abs(np.delete(slopes, index)).max() * 0.4 < 0.02


def test_sparse_midpoint_measures_tell_a_stroke_image_from_a_cross_fade():
    sparse = load_script("sparse_recipe")
    strokes = load_script("strokes_family").render_strokes(40, size=32, seed=3).astype(np.float32) / 255
    reference, pairs = strokes[:30], strokes[30:]
    # an image of the reference set is at distance 0 from it; the cross-fade of two others is not
    assert np.all(sparse.nearest_distance(reference[:5], reference) == 0)
    fades = (pairs[0::2] + pairs[1::2]) / 2
    assert np.all(sparse.nearest_distance(fades, reference) > 0)
    by_hand = np.abs(fades[:, None] - reference[None]).reshape(len(fades), len(reference), -1).mean(axis=2).min(axis=1)
    assert np.allclose(sparse.nearest_distance(fades, reference, chunk=2), by_hand)
    # ink in pixels above one half: true strokes mostly, their cross-fade (strokes at half intensity) little
    sharp, faded = sparse.ink_sharp(pairs), sparse.ink_sharp(fades)
    assert np.all(sharp > 0.6) and np.all(faded < 0.2)  # (the cross-fade keeps ink where strokes cross)
    assert sparse.ink_sharp(np.zeros((1, 4, 4, 1)))[0] == 0  # a blank image has no ink, and no division by 0


def test_paired_ratio_is_the_ratio_of_means_with_a_bootstrap_interval_over_the_same_pairs():
    paired = load_script("paired_morphs")
    rng = np.random.default_rng(5)
    b = rng.uniform(0.5, 1.5, size=40)
    exact = paired.paired_ratio(0.9 * b, b, n_boot=2000, seed=1)
    # a pair-by-pair 10 % lead: every resample of the same pairs gives 0.9, so the interval is a point
    assert exact["ratio"] == pytest.approx(0.9) and exact["ratio_ci95"] == pytest.approx([0.9, 0.9])
    assert exact["a_lower_share"] == 1.0 and exact["n"] == 40 and exact["b_mean"] == pytest.approx(b.mean())
    # the same means with the pairing broken: the interval widens around the ratio and straddles 1
    noisy = paired.paired_ratio(rng.permutation(b), b, n_boot=2000, seed=1)
    low, high = noisy["ratio_ci95"]
    assert noisy["ratio"] == pytest.approx(1.0) and low < 0.95 < 1.05 < high
    # the interval is a function of the seed: the same seed gives the same interval, another seed another
    a = 0.9 * b + rng.normal(0, 0.05, 40)
    assert paired.paired_ratio(a, b, n_boot=2000, seed=1) == paired.paired_ratio(a, b, n_boot=2000, seed=1)
    assert paired.paired_ratio(a, b, n_boot=2000, seed=2)["ratio_ci95"] != paired.paired_ratio(a, b, n_boot=2000, seed=1)["ratio_ci95"]
    with pytest.raises(ValueError, match="paired 1-d arrays"):
        paired.paired_ratio(b, b[:-1])


def test_paired_morphs_tells_the_perfect_model_from_one_that_leaves_the_line(tmp_path):
    """A perfect model against one that shrinks every face a third of the way to the average face and
    washes its pixels out a fifth of the way to grey: the perfect one is lower on every pair and
    every measure, and the interval excludes 1."""
    paired = load_script("paired_morphs")
    params_a, params_b = paired.held_out_pairs(6, 99)
    levels = paired.morph_levels(11)
    path = paired.interpolate(params_a, params_b, levels).reshape(-1, len(PARAMETERS))
    perfect = RenderingModel(np.clip(path, 0.0, 1.0), size=SIZE)

    class Shrunk(RenderingModel):
        def decode(self, z):
            return 0.8 * super().decode(0.67 * np.asarray(z) + 0.33 * 0.5) + 0.2 * 0.5

    shrunk = Shrunk(np.clip(path, 0.0, 1.0), size=SIZE)
    figure = tmp_path / "morphs.png"
    rows = {row["measure"]: row for row in paired.compare(perfect, shrunk, n_pairs=6, seed=99, n_boot=500,
                                                           figure=figure, labels=("perfect", "shrunk"))}
    assert set(rows) == set(paired.MEASURES)
    assert rows["path_deviation"]["a_mean"] < 0.01 < rows["path_deviation"]["b_mean"]
    # the shrunk model's ends are off already (its reconstructions), the perfect one's are not
    assert rows["endpoint_deviation"]["a_mean"] < 0.01 < rows["endpoint_deviation"]["b_mean"]
    for row in rows.values():
        assert row["a_lower_share"] == 1.0 and row["ratio_ci95"][1] < 1.0 and row["n"] == 6
    swapped = {row["measure"]: row for row in paired.compare(shrunk, perfect, n_pairs=6, seed=99, n_boot=500)}
    assert swapped["path_deviation"]["ratio"] == pytest.approx(1 / rows["path_deviation"]["ratio"])
    assert swapped["path_deviation"]["a_lower_share"] == 0.0
    # the figure draws the measured morphs: 3 pairs of 4 rows (true morph, A, B, cross-fade) under a
    # 16 px header, 10 px between pairs, square tiles with 2 px gaps, right-aligned; the perfect model's
    # row is the true morph, the shrunk one's is not
    drawn = np.asarray(Image.open(figure).convert("RGB")).astype(np.float32) / 255
    n_levels = 11
    step, rest = divmod((drawn.shape[0] - 16 - 2 * 10) // 3 - 2, 4)
    assert rest == 0 and step >= SIZE + 2
    left = drawn.shape[1] - (2 + n_levels * step) + 2
    tile = step - 2

    def row(pair, index):  # the row's 11 tiles side by side
        top = 16 + pair * (2 + 4 * step + 10) + 2 + index * step
        return np.concatenate([drawn[top : top + tile, left + k * step : left + k * step + tile] for k in range(n_levels)], 1)

    for pair in range(paired.FIGURE_PAIRS):
        truth, first, second = row(pair, 0), row(pair, 1), row(pair, 2)
        assert np.abs(first - truth).mean() < 0.002  # (float32 codes can move an edge pixel)
        assert np.abs(second - truth).mean() > 0.02


def test_the_axes_table_in_the_docs_is_the_one_its_record_gives():
    """docs/axes.md's validation table is printed from docs/records/attribute_axes.json, not typed."""
    attribute_axes = load_script("attribute_axes")
    root = BENCHMARKS.parent
    record = json.loads((root / "docs" / "records" / "attribute_axes.json").read_text())
    table = attribute_axes.markdown_table(record["rows"])
    assert table.count("\n") == 2 + len(PARAMETERS)  # header, rule, 16 parameters, the passing row
    assert table in (root / "docs" / "axes.md").read_text()
