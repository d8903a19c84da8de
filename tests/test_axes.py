"""Attribute axes on codes whose generating directions are known: Z = Y B + noise."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LinearRegression

from conftest import LossyModel
from gaia_stim.core.errors import InputError, ModelFileError
from gaia_stim.stimuli.axes import AttributeAxes, AttributeAxesWarning, load_axes, save_axes

SHA_A, SHA_B = "a" * 64, "b" * 64


def linear_codes(n=1500, latent_dim=12, seed=0, correlation=0.0, anisotropy=True):
    """Codes made from three attributes by known directions, plus noise of unequal size per dimension."""
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=(n, 3))
    labels[:, 1] = correlation * labels[:, 0] + np.sqrt(1 - correlation**2) * labels[:, 1]
    directions = rng.normal(size=(3, latent_dim))
    directions[1] = 0.7 * directions[0] + 0.3 * directions[1]  # two directions far from perpendicular
    scale = np.linspace(0.1, 2.0, latent_dim) if anisotropy else np.ones(latent_dim)
    codes = 1.0 + labels @ directions + 0.2 * rng.normal(size=(n, latent_dim)) * scale
    return codes, pd.DataFrame(labels, columns=["age", "smile", "hair"]), directions


def test_joint_fit_recovers_the_generating_directions_and_mean_difference_does_not():
    codes, labels, truth = linear_codes(correlation=0.6)
    joint = AttributeAxes().fit(codes, labels)
    assert joint.attribute_names_ == ["age", "smile", "hair"]
    np.testing.assert_allclose(joint.directions_, truth, atol=0.03)
    baseline = AttributeAxes(method="mean-difference").fit(codes, labels)
    # one regression per attribute picks up the correlated one: age's direction gains 0.6 * smile's
    np.testing.assert_allclose(baseline.directions_[0], truth[0] + 0.6 * truth[1], atol=0.1)


def test_mean_difference_of_a_binary_attribute_is_the_difference_of_group_means():
    codes, labels, _ = linear_codes()
    labels["glasses"] = (labels["hair"] > 0).astype(int)
    axes = AttributeAxes(method="mean-difference").fit(codes, labels[["glasses"]])
    group = labels["glasses"].to_numpy() == 1
    np.testing.assert_allclose(axes.directions_[0], codes[group].mean(0) - codes[~group].mean(0), atol=1e-9)
    # a 0/1 step of a Gaussian attribute the codes carry: a linear read-out explains about 2/pi of it
    assert axes.r2_[0] == pytest.approx(2 / np.pi, abs=0.05)


def test_text_columns_are_one_hot_against_their_first_level():
    rng = np.random.default_rng(1)
    hair = rng.choice(["black", "blond", "red"], size=900)
    offsets = {"black": 0.0, "blond": 2.0, "red": -1.0}
    codes = np.outer([offsets[h] for h in hair], [1.0, 0.5, 0.0, 0.0]) + 0.1 * rng.normal(size=(900, 4))
    axes = AttributeAxes().fit(codes, pd.DataFrame({"hair": hair}))
    assert axes.attribute_names_ == ["hair_blond", "hair_red"]
    assert axes.categorical_columns_ == ["hair"]
    np.testing.assert_allclose(axes.directions_, [[2.0, 1.0, 0, 0], [-1.0, -0.5, 0, 0]], atol=0.03)


def test_cross_validated_r2_tells_carried_attributes_from_absent_ones():
    codes, labels, _ = linear_codes()
    labels["noise"] = np.random.default_rng(5).normal(size=len(labels))
    with pytest.warns(AttributeAxesWarning, match="'noise'.*carry little"):
        axes = AttributeAxes().fit(codes, labels)
    r2 = dict(zip(axes.attribute_names_, axes.r2_))
    assert min(r2["age"], r2["smile"], r2["hair"]) > 0.9
    assert r2["noise"] < 0.05
    # the stored read-out is the linear map the fitted pipeline applies
    readout = make_pipeline(LinearRegression()).fit(codes, labels.to_numpy())
    np.testing.assert_allclose(axes.transform(codes[:5])[:, :3], readout.predict(codes[:5])[:, :3], atol=0.05)


@pytest.mark.parametrize("metric", ["covariance", "euclidean"])
def test_orthogonal_to_any_number_of_axes_in_the_chosen_inner_product(metric):
    codes, labels, _ = linear_codes()
    axes = AttributeAxes(metric=metric).fit(codes, labels)
    inner = np.linalg.inv(np.cov(codes.T)) if metric == "covariance" else np.eye(codes.shape[1])
    for others in (["smile"], ["smile", "hair"], "all"):
        step = axes.direction("age", orthogonal_to=others)
        names = ["smile", "hair"] if others == "all" else others
        original = axes.directions_[0]
        for name in names:
            other = axes.directions_[axes.attribute_names_.index(name)]
            cosine = step @ inner @ other / np.sqrt((step @ inner @ step) * (other @ inner @ other))
            assert abs(cosine) < 0.02, (name, cosine)
        # its component along the original direction is the original direction
        assert step @ axes.metric_matrix_ @ original == pytest.approx(original @ axes.metric_matrix_ @ original)


def test_covariance_metric_keeps_the_other_readouts_still_and_euclidean_does_not():
    codes, labels, _ = linear_codes()
    moved = {}
    for metric in ("covariance", "euclidean"):
        axes = AttributeAxes(metric=metric).fit(codes, labels)
        change = axes.transform(axes.apply(codes[:1], "age", [1.0], orthogonal_to=["smile"])[0]) - axes.transform(codes[:1])
        moved[metric] = change[0]
    assert moved["covariance"][0] == pytest.approx(1.0, abs=0.05)
    assert abs(moved["covariance"][1]) < 0.05
    assert abs(moved["euclidean"][1]) > 0.5


def test_apply_moves_codes_by_amount_times_direction():
    codes, labels, _ = linear_codes(n=300)
    axes = AttributeAxes().fit(codes, labels)
    moved = axes.apply(codes[:2], "hair", [-2.0, 0.0, 3.0])
    assert moved.shape == (2, 3, codes.shape[1])
    np.testing.assert_allclose(moved[1, 2], codes[1] + 3.0 * axes.directions_[2])
    np.testing.assert_allclose(moved[0, 1], codes[0])


def test_unestimable_attributes_are_left_out_with_a_warning():
    codes, labels, _ = linear_codes(n=400)
    labels["constant"] = 1.0
    labels["twice_age"] = 2 * labels["age"] + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        axes = AttributeAxes().fit(codes, labels)
    messages = " ".join(str(w.message) for w in caught if issubclass(w.category, AttributeAxesWarning))
    assert "'constant' has the same value" in messages and "'twice_age' is a linear combination" in messages
    assert axes.attribute_names_ == ["age", "smile", "hair"]
    assert axes.dropped_attributes_ == ["constant", "twice_age"]


def test_few_images_warn_and_too_few_refuse():
    codes, labels, _ = linear_codes(n=20)
    with pytest.warns(AttributeAxesWarning, match="20 images for 3 attributes"):
        AttributeAxes().fit(codes, labels)
    with pytest.raises(InputError, match="4 images cannot estimate 3 attributes; give at least 5"):
        AttributeAxes().fit(codes[:4], labels[:4])


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda a, z, y: a.fit(z[:-1], y), "got 299 codes but 300 rows"),
        (lambda a, z, y: a.fit(np.where(np.arange(z.size).reshape(z.shape) == 5, np.nan, z), y), "NaN"),
        (lambda a, z, y: a.fit(z, y.assign(age=np.r_[np.inf, y["age"].to_numpy()[1:]])), "'age', row 0"),
        (lambda a, z, y: a.fit(z, y).direction("beard"), "no axis named 'beard'"),
        (lambda a, z, y: a.fit(z, y).direction("age", orthogonal_to=["age"]), "orthogonal to itself"),
        (lambda a, z, y: a.fit(z, y).apply(z[:, :3], "age", [1]), "shape (n, 12)"),
        (lambda a, z, y: a.fit(z, y).apply(z, "age", [np.nan]), "finite"),
        (lambda a, z, y: a.set_params(method="svm").fit(z, y), "method must be one of"),
        (lambda a, z, y: a.set_params(cv=1).fit(z, y), "cv must be"),
    ],
)
def test_bad_arguments_raise_one_clear_error(call, words):
    codes, labels, _ = linear_codes(n=300)
    with pytest.raises(InputError) as error:
        call(AttributeAxes(), codes, labels)
    assert words in str(error.value)


def test_a_direction_inside_the_span_of_the_others_cannot_be_made_orthogonal():
    codes, labels, _ = linear_codes(n=600)
    labels["mix"] = labels["age"] + labels["smile"] + 0.01 * np.random.default_rng(2).normal(size=600)
    axes = AttributeAxes().fit(codes, labels[["age", "smile", "mix"]])
    axes.directions_[2] = axes.directions_[0] + axes.directions_[1]
    with pytest.raises(InputError, match="combination of"):
        axes.direction("mix", orthogonal_to=["age", "smile"])


def test_saved_axes_load_identically_and_only_for_their_model(tmp_path):
    codes, labels, _ = linear_codes(n=300)
    labels["hair_colour"] = np.where(labels["hair"] > 0, "dark", "light")
    axes = AttributeAxes(metric="euclidean").fit(codes, labels)
    axes.readout_gain_ = np.array([0.5, np.nan, 0.9, 0.05])  # as calibrate_axes leaves them
    path = save_axes(axes, tmp_path / "axes.npz", SHA_A)
    loaded = load_axes(path, model_sha256=SHA_A)
    assert loaded.get_params() == axes.get_params()
    assert loaded.attribute_names_ == axes.attribute_names_ and loaded.model_sha256_ == SHA_A
    np.testing.assert_array_equal(loaded.readout_gain_, axes.readout_gain_)
    np.testing.assert_allclose(loaded.direction("age", ["smile"]), axes.direction("age", ["smile"]), rtol=1e-12)
    np.testing.assert_allclose(loaded.transform(codes[:3]), axes.transform(codes[:3]), rtol=1e-12)
    # the labelled range corrections are bounded by: each attribute's lowest and highest label
    one_hot = (labels["hair_colour"] == "light").astype(float)
    expected = [[labels[name].min(), labels[name].max()] for name in ("age", "smile", "hair")] + [[0.0, 1.0]]
    assert axes.attribute_names_[-1] == "hair_colour_light" and one_hot.max() == 1.0
    np.testing.assert_array_equal(axes.attribute_range_, expected)
    np.testing.assert_array_equal(loaded.attribute_range_, axes.attribute_range_)
    with pytest.raises(ModelFileError, match="fitted on the codes of the model with sha256 aaaaaaaaaaaa"):
        load_axes(path, model_sha256=SHA_B)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="cannot read axes file"):
        load_axes(tmp_path / "junk.npz")


def test_a_file_written_before_the_range_was_kept_loads_with_it_unknown(tmp_path):
    """Axes files from before the labelled range was stored still load; their corrections are unbounded."""
    codes, labels, _ = linear_codes(n=300)
    path = save_axes(AttributeAxes(metric="euclidean").fit(codes, labels), tmp_path / "axes.npz", SHA_A)
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files if name != "attribute_range"}
    np.savez(tmp_path / "older.npz", **arrays)
    older = load_axes(tmp_path / "older.npz", model_sha256=SHA_A)
    assert older.attribute_range_.shape == (3, 2) and np.isnan(older.attribute_range_).all()
    low, high = older._attribute_bounds()
    assert np.isneginf(low).all() and np.isposinf(high).all()
    # a range of the wrong shape is a damaged file, not an unknown range
    np.savez(tmp_path / "damaged.npz", **arrays, attribute_range=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="attribute_range"):
        load_axes(tmp_path / "damaged.npz")


def test_works_as_a_scikit_learn_estimator_in_a_pipeline():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline as pipeline
    from sklearn.preprocessing import StandardScaler

    codes, labels, _ = linear_codes(n=400)
    axes = AttributeAxes(metric="euclidean", cv=3)
    assert clone(axes).get_params() == {"method": "joint", "metric": "euclidean", "cv": 3, "random_state": 0}
    # codes -> attribute read-outs -> standardised: the read-outs track the labels
    readouts = pipeline(clone(axes), StandardScaler()).fit(codes, labels).transform(codes)
    assert readouts.shape == (400, 3)
    assert min(np.corrcoef(readouts[:, j], labels.iloc[:, j])[0, 1] for j in range(3)) > 0.95


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_calibration_undoes_what_the_images_lose(keep):
    from gaia_stim.stimuli.axes import calibrate_axes

    codes, labels, _ = linear_codes(n=600)
    axes = AttributeAxes().fit(codes, labels)
    model = LossyModel(keep, codes.mean(axis=0))
    before = axes.direction("smile")
    calibrate_axes(axes, model, codes)
    np.testing.assert_allclose(axes.readout_gain_, keep, rtol=0.03)
    np.testing.assert_allclose(axes.direction("smile"), before / axes.readout_gain_[1])
    for name in ("age", "smile"):
        j = axes.attribute_names_.index(name)
        for orthogonal_to in (None, "all"):
            moved = axes.apply(codes[:20], name, [0.0, 1.0], orthogonal_to=orthogonal_to)
            seen = axes.transform(model.encode(model.decode(moved.reshape(40, -1)))).reshape(20, 2, -1)
            assert (seen[:, 1, j] - seen[:, 0, j]).mean() == pytest.approx(1.0, abs=0.03)


def test_an_axis_the_images_barely_keep_is_left_uncalibrated_with_a_warning():
    from gaia_stim.stimuli.axes import calibrate_axes

    codes, labels, _ = linear_codes(n=600)
    axes = AttributeAxes().fit(codes, labels)
    before = axes.direction("hair")
    with pytest.warns(AttributeAxesWarning, match="'hair': the model's images keep only 0.10"):
        calibrate_axes(axes, LossyModel(0.1, 0.0), codes)
    np.testing.assert_array_equal(axes.direction("hair"), before)


def test_a_column_whose_squares_overflow_is_refused_and_a_merely_large_one_fits():
    codes, labels, _ = linear_codes(n=200)
    huge = labels.copy()
    huge["smile"] = huge["smile"] * 1e300  # squared deviations would be inf, R^2 NaN
    with pytest.raises(InputError, match="'smile'.*rescale"):
        AttributeAxes(cv=2).fit(codes, huge)
    # 1e50 is large but finite when squared: the fit works and R^2 is scale-free (same as unscaled)
    large = labels.copy()
    large["smile"] = large["smile"] * 1e50
    r2_large = AttributeAxes(cv=2).fit(codes, large).r2_
    r2_plain = AttributeAxes(cv=2).fit(codes, labels).r2_
    assert np.all(np.isfinite(r2_large))
    np.testing.assert_allclose(r2_large, r2_plain, atol=1e-6)


# --------------------------------------------------------------------------------------------
# corrections: moved codes steered by the model's own read-out


class BatchMixingModel(LossyModel):
    """An exact round trip, except that encoding adds a trace of the batch's mean: results depend on the batch."""

    def encode(self, images):
        images = np.asarray(images, dtype=np.float64)
        return images + 1e-3 * images.mean(axis=0)


def brightness_step(amount, latent_dim=4):
    """The start code, the code moved by ``amount`` along brightness, and what is asked of each read-out."""
    from conftest import hand_made_axes

    axes = hand_made_axes(latent_dim)
    start = np.array([[0.125, -0.25, 0.5, 0.0]])
    moved = axes.apply(start, "brightness", [amount])[0]
    return axes, start, moved, np.array([[amount, 0.0]])


def read_back(axes, model, codes):
    return axes.transform(model.encode(model.decode(codes)))


@pytest.mark.parametrize("amount", [0.5, -0.75])
def test_a_correction_steers_the_read_out_to_the_asked_change_and_holds_the_others(amount):
    from gaia_stim.stimuli.axes import correct_codes

    axes, start, moved, asked = brightness_step(amount)
    model = LossyModel(1.0, 0.0)  # the image is the code: the read-out of the image is the code's
    base = read_back(axes, model, start)[0]
    # the straight line: brightness as asked, contrast leaks 0.5 x 0.5 per unit (hand_made_axes)
    np.testing.assert_allclose(read_back(axes, model, correct_codes(axes, model, start, moved, asked, 0)) - base,
                               [[amount, 0.25 * amount]])
    steered = correct_codes(axes, model, start, moved, asked, 1)
    np.testing.assert_allclose(read_back(axes, model, steered) - base, [[amount, 0.0]], atol=1e-12)
    # the correction went along contrast's own direction (latent element 1), nowhere else
    np.testing.assert_allclose(np.delete(steered - moved, 1, axis=1), 0.0, atol=1e-15)
    assert correct_codes(axes, model, start, moved, asked, 0) is not moved  # a copy, never the caller's array


def test_each_correction_takes_back_what_the_images_lose():
    """Images keep half of each code (LossyModel 0.5); uncalibrated, each correction halves what is missing."""
    from gaia_stim.stimuli.axes import correct_codes

    axes, start, moved, asked = brightness_step(0.5)
    model = LossyModel(0.5, 0.0)
    base = read_back(axes, model, start)[0, 0]
    missing = [0.5 - (read_back(axes, model, correct_codes(axes, model, start, moved, asked, k))[0, 0] - base)
               for k in range(4)]
    np.testing.assert_allclose(missing, [0.5 * 0.5 ** (k + 1) for k in range(4)], rtol=1e-12)
    # calibrated (its gain 0.5 measured), one correction of the same straight step gets all of it
    axes.readout_gain_ = np.array([0.5, 0.5])
    steered = correct_codes(axes, model, start, moved, asked, 1)
    assert read_back(axes, model, steered)[0, 0] - base == pytest.approx(0.5, abs=1e-12)


def test_an_attribute_the_codes_barely_carry_is_not_steered():
    from gaia_stim.stimuli.axes import LOW_R2, correct_codes, held_attributes

    axes, start, moved, asked = brightness_step(0.5)
    model = LossyModel(1.0, 0.0)
    axes.r2_ = np.array([0.875, LOW_R2 / 2])
    assert held_attributes(axes).tolist() == [True, False]
    steered = correct_codes(axes, model, start, moved, asked, 3)
    base = read_back(axes, model, start)[0]
    np.testing.assert_allclose(read_back(axes, model, steered) - base, [[0.5, 0.125]], atol=1e-12)  # contrast left as it leaks
    axes.r2_, axes.readout_gain_ = np.array([0.875, 0.5]), np.array([0.5, 0.1])  # calibrated: too little kept
    assert held_attributes(axes).tolist() == [True, False]


@pytest.mark.parametrize("amount, span, expected, warned", [
    (0.5, [[0.0, 1.0], [0.0, 0.1]], 1.0, r"'brightness': asked for 1.25, past the labelled images' range \(0 to 1\);"
                                         r" corrections steer it only to the edge"),  # capped at the edge
    (-0.5, [[0.0, 1.0], [0.0, 0.1]], 0.25, None),  # within the range: as asked
    (0.25, [[0.0, 0.5], [0.0, 0.1]], 0.75, r"asked for 1, past the labelled images' range \(0 to 0.5\)"),  # start above it stays
    (-0.125, [[0.0, 0.5], [0.0, 0.1]], 0.625, None),  # start above it, asked back down: as asked
    (0.5, np.full((2, 2), np.nan), 1.25, None),  # range not kept (older files): unbounded
    (0.5, None, 1.25, None),  # no range at all (axes made by hand): unbounded
])
def test_corrections_never_steer_an_attribute_past_the_labelled_range(amount, span, expected, warned):
    """Asked past the range the labels span, a correction steers to its edge, not to the read-out's
    beyond; a start already outside keeps where it is, and contrast, not asked, is held where the
    start has it (-0.6875), outside its range [0, 0.1] or not. (Two corrections: the first one's step
    back along brightness leaks into contrast, the second takes that back.)"""
    from gaia_stim.stimuli.axes import correct_codes

    model = LossyModel(1.0, 0.0)
    axes, start, moved, asked = brightness_step(amount)
    if span is not None:
        axes.attribute_range_ = np.array(span)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steered = correct_codes(axes, model, start, moved, asked, 2)
    np.testing.assert_allclose(read_back(axes, model, steered), [[expected, -0.6875]], atol=1e-12)
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, AttributeAxesWarning)]
    assert len(messages) == (warned is not None), messages
    if warned:
        assert re.search(warned, messages[0]), messages[0]


def test_codes_are_corrected_one_at_a_time():
    """Each code's result is what it gets on its own, whatever else is corrected with it."""
    from gaia_stim.stimuli.axes import correct_codes

    axes, start, _, _ = brightness_step(0.5)
    amounts = np.array([-0.5, 0.25, 0.75])
    moved = axes.apply(start, "brightness", amounts)[0]
    asked = np.stack([amounts, np.zeros(3)], axis=1)
    model = BatchMixingModel(1.0, 0.0)
    together = correct_codes(axes, model, start, moved, asked, 2)
    alone = np.concatenate([correct_codes(axes, model, start, moved[[i]], asked[[i]], 2) for i in range(3)])
    np.testing.assert_array_equal(together, alone)


@pytest.mark.parametrize("corrections", [-1, 11, 1.5, True, "2", None])
def test_corrections_must_be_a_whole_number_within_the_limit(corrections):
    from gaia_stim.stimuli.axes import correct_codes

    axes, start, moved, asked = brightness_step(0.5)
    with pytest.raises(InputError, match="corrections must be a whole number from 0 to 10"):
        correct_codes(axes, LossyModel(1.0, 0.0), start, moved, asked, corrections)


def test_what_is_asked_must_name_every_attribute_of_every_code():
    from gaia_stim.stimuli.axes import correct_codes

    axes, start, moved, _ = brightness_step(0.5)
    with pytest.raises(InputError, match=r"asked must have shape \(1, 2\); got \(1, 1\)"):
        correct_codes(axes, LossyModel(1.0, 0.0), start, moved, np.array([[0.5]]))
