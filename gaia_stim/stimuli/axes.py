"""Attribute axes: latent directions that change one named attribute (docs/design.md, section 2.4).

Labelled images are encoded and the codes are regressed on all attribute columns jointly,
``Z ~ [attributes, 1]`` (ordinary least squares, scikit-learn's ``LinearRegression``). Each
attribute's coefficient row is its latent direction, in *attribute units*: ``z + k * direction``
is the code of the same image with that attribute ``k`` units higher and the others held fixed,
as far as a linear model of the codes can say. One mean difference per attribute (the
``method="mean-difference"`` baseline) mixes in every attribute correlated with it in the codes;
the joint fit does not.

A direction can be made orthogonal to any number of other directions (or to all of them). The
inner product is the one of the codes' own covariance, ``<u, v> = u^T C^-1 v`` with ``C`` the
(Ledoit-Wolf shrunk) covariance of the codes: a linear read-out of attribute ``j`` from the codes
has the weight vector ``w_j = C^-1 cov(z, y_j)``, which for uncorrelated attributes is
proportional to ``C^-1 d_j``, so a direction orthogonal to ``d_j`` in this metric leaves the
read-out of ``j`` unchanged. Orthogonal in plain Euclidean ``z`` (``metric="euclidean"``) makes
the directions perpendicular but still moves the read-outs wherever the codes are anisotropic;
benchmarks/attribute_axes.py measures both on synthetic faces (docs/axes.md). After projecting,
the direction is rescaled so that its component along the original direction is unchanged, so an
amount stays in attribute units.

The model's images rarely keep all of a step in the code: :func:`calibrate_axes` measures, per
axis, how much of it survives decoding and re-encoding (with the axes' own read-out, never the
labels) and lengthens the direction to match, so an amount asks for that change in the image.
A straight line along even a calibrated axis still moves other attributes wherever the decoder is
not linear (a longer fringe of hair drawn over the jaw reads as a wider jaw): :func:`correct_codes`
reads each moved code's image back and steers the code, along the axes' directions, until the
read-out changes the moved attribute by the amount asked and every other one the model carries by
nothing (``gaia-stim attribute --corrections``).

Fitted axes are saved with the sha256 of the model file whose codes they describe
(:func:`save_axes`) and refuse to be used with another model (:func:`load_axes`).
"""

import json
import logging
import numbers
import os
import re
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from gaia_stim.core.errors import GaiaStimError, InputError, ModelFileError
from gaia_stim.core.atomic import atomic_write
from gaia_stim.core.limits import CORRECTIONS, MAX_CORRECTIONS
from gaia_stim.core.schemas import Array, Equals, ListOf, Nullable, Record, Sha256, Text, Whole, check

__all__ = [
    "METHODS",
    "METRICS",
    "AttributeAxes",
    "AttributeAxesWarning",
    "save_axes",
    "load_axes",
    "calibrate_axes",
    "correct_codes",
    "held_attributes",
    "image_readout",
    "check_model",
    "column_name",
    "fit_axes",
]

logger = logging.getLogger(__name__)

METHODS = ("joint", "mean-difference")
METRICS = ("covariance", "euclidean")
AXES_FORMAT = "gaia-stim attribute axes"
AXES_FORMAT_VERSION = 1

# Ridge penalties tried by the read-out (codes -> attributes), chosen by efficient leave-one-out.
_READOUT_ALPHAS = np.logspace(-3, 4, 15)
# Below this cross-validated R^2 the codes carry too little of an attribute for its axis to mean much.
LOW_R2 = 0.1
# Fewer images per attribute than this leave the directions noisy.
MIN_IMAGES_PER_ATTRIBUTE = 10
MAX_LABEL_SPREAD = 1e100  # an attribute column may span this much around its mean (its squares stay finite)
# Below this read-out gain the model barely renders an axis; calibrating would only amplify noise.
MIN_GAIN = 0.2
# A projected direction keeping less than this share of its squared length is (nearly) a
# combination of the directions it was made orthogonal to.
_MIN_KEPT = 1e-3


class AttributeAxesWarning(UserWarning):
    """An attribute whose axis cannot be estimated, or only poorly."""


def column_name(text):
    """A name that is a valid PsychoPy column: letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text)).strip("_")
    return name if re.match(r"^[A-Za-z]", name) else "a_" + name


def _as_table(y):
    if isinstance(y, pd.DataFrame):
        return y.reset_index(drop=True)
    if isinstance(y, pd.Series):
        return y.to_frame().reset_index(drop=True)
    array = np.asarray(y)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise InputError(f"attributes must be a table of shape (n_images, n_attributes); got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"attribute_{index}" for index in range(array.shape[1])])


def _is_categorical(column):
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def _design_matrix(table):
    """Attribute table -> (float matrix, column names, one-hot encoder or None, categorical columns).

    Numeric and boolean columns are used as they are; text columns are one-hot encoded with their
    first level (in sorted order) as the reference, so each level's direction is the change from
    the reference level to that level.
    """
    categorical = [name for name in table.columns if _is_categorical(table[name])]
    numeric = [name for name in table.columns if name not in categorical]
    parts = [table[numeric].to_numpy(dtype=np.float64)] if numeric else []
    names = [column_name(name) for name in numeric]
    encoder = None
    if categorical:
        encoder = OneHotEncoder(drop="first", sparse_output=False, dtype=np.float64)
        parts.append(encoder.fit_transform(table[categorical].astype(str)))
        for name, levels in zip(categorical, encoder.categories_):
            names += [column_name(f"{name}_{level}") for level in levels[1:]]
    matrix = np.hstack(parts) if parts else np.zeros((len(table), 0))
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InputError(f"attribute names {repeated} occur twice once made valid column names; rename the columns")
    if not np.all(np.isfinite(matrix)):
        rows, columns = np.nonzero(~np.isfinite(matrix))
        raise InputError(
            f"attribute {names[columns[0]]!r}, row {rows[0]}: {matrix[rows[0], columns[0]]!r} is not a finite"
            " number; fill in or drop that row"
        )
    return matrix, names, encoder, categorical


def _usable_columns(matrix, names):
    """Indices of the columns that can be estimated; warns about the others (constant, collinear)."""
    keep = []
    for index, name in enumerate(names):
        if np.ptp(matrix[:, index]) == 0:
            warnings.warn(
                f"attribute {name!r} has the same value in every image, so it has no direction; it is left out",
                AttributeAxesWarning,
                stacklevel=3,
            )
            continue
        centred = matrix[:, keep + [index]] - matrix[:, keep + [index]].mean(axis=0)
        # each column on its own scale: the rank test's tolerance is relative to the largest column,
        # so a column in large units would otherwise make the others look like zeros
        centred = centred / np.abs(centred).max(axis=0)
        if np.linalg.matrix_rank(centred) < len(keep) + 1:
            warnings.warn(
                f"attribute {name!r} is a linear combination of {[names[k] for k in keep]} in these labels,"
                " so its effect cannot be told apart from theirs; it is left out",
                AttributeAxesWarning,
                stacklevel=3,
            )
            continue
        keep.append(index)
    return keep


class AttributeAxes(TransformerMixin, BaseEstimator):
    """Latent directions for labelled attributes, fitted by ordinary least squares.

    Parameters
    ----------
    method : {"joint", "mean-difference"}, default="joint"
        ``"joint"``: one OLS fit of the codes on all attributes together (plus an intercept);
        each attribute's coefficients are its direction. ``"mean-difference"``: one fit per
        attribute alone, the baseline the joint fit improves on (for a 0/1 attribute its
        direction is exactly the difference of the mean codes with and without it).
    metric : {"covariance", "euclidean"}, default="covariance"
        Inner product used by :meth:`direction` to make one direction orthogonal to others:
        the inverse covariance of the codes, or plain Euclidean distance between codes.
    cv : int, default=5
        Folds of the cross-validation that gives each attribute's R^2.
    random_state : int, default=0
        Seed of the fold assignment.

    Attributes
    ----------
    attribute_names_ : list of str
        One name per direction (text columns expand to ``column_level``).
    directions_ : ndarray of shape (n_attributes, latent_dim)
        Change of the code per unit of each attribute.
    intercept_ : ndarray of shape (latent_dim,)
        The code predicted for all attributes at 0 (reference level for text columns).
    r2_ : ndarray of shape (n_attributes,)
        Cross-validated R^2 of each attribute read out from the codes (a ridge regression):
        how much of the attribute the codes carry. Near 0 or negative: its axis means little.
    readout_coef_ : ndarray of shape (n_attributes, latent_dim)
    readout_intercept_ : ndarray of shape (n_attributes,)
        The linear read-out codes -> attributes fitted on all the labelled codes
        (:meth:`transform`); used by the leakage report.
    attribute_scale_ : ndarray of shape (n_attributes,)
        Standard deviation of each attribute in the labels: the yardstick of the leakage report.
    metric_matrix_ : ndarray of shape (latent_dim, latent_dim)
        The inner product used for orthogonalisation (the inverse code covariance, or identity).
    n_images_ : int
    categorical_columns_ : list of str
        Text columns that were one-hot encoded.
    dropped_attributes_ : list of str
        Columns that could not be estimated (constant or collinear), with a warning.
    readout_gain_ : ndarray of shape (n_attributes,)
        NaN until :func:`calibrate_axes` measures, per axis, how much of a step the model's images
        keep (read-out of the decoded, re-encoded images per unit asked for); :meth:`direction`
        then divides by it where it is at least ``MIN_GAIN``.

    Examples
    --------
    >>> axes = AttributeAxes().fit(codes, labels)              # doctest: +SKIP
    >>> z_older = codes[:1] + 2.0 * axes.direction("age")        # doctest: +SKIP
    >>> axes.direction("smile", orthogonal_to=["age", "sex"])    # doctest: +SKIP
    """

    def __init__(self, method="joint", metric="covariance", cv=5, random_state=0):
        self.method = method
        self.metric = metric
        self.cv = cv
        self.random_state = random_state

    def _check_params(self):
        if self.method not in METHODS:
            raise InputError(f"method must be one of {list(METHODS)}; got {self.method!r}")
        if self.metric not in METRICS:
            raise InputError(f"metric must be one of {list(METRICS)}; got {self.metric!r}")
        if isinstance(self.cv, bool) or not isinstance(self.cv, numbers.Integral) or self.cv < 2:
            raise InputError(f"cv must be a whole number of folds, 2 or more; got {self.cv!r}")

    def fit(self, Z, y):
        """Fit the directions, the read-out and the cross-validated R^2.

        Parameters
        ----------
        Z : array-like of shape (n_images, latent_dim)
            Codes of the labelled images (``model.encode``).
        y : DataFrame or array-like of shape (n_images, n_attributes)
            One column per attribute: numbers, booleans, or text (one-hot encoded).

        Returns
        -------
        self

        Raises
        ------
        ValueError (InputError)
            Codes and labels differ in length, hold non-finite values, or there are too few
            images to estimate the attributes.
        """
        self._check_params()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2:
            raise InputError(f"codes must have shape (n_images, latent_dim); got shape {Z.shape}")
        table = _as_table(y)
        if len(table) != len(Z):
            raise InputError(f"got {len(Z)} codes but {len(table)} rows of attributes; give one row per image")
        if not np.all(np.isfinite(Z)):
            raise InputError("codes contain NaN or infinite values")
        matrix, names, encoder, categorical = _design_matrix(table)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.abs(matrix - matrix.mean(axis=0)).max(axis=0)
        huge = [name for name, value in zip(names, spread) if not value <= MAX_LABEL_SPREAD]
        if huge:
            # squared deviations (variances, R^2, the read-out) would overflow double precision
            raise InputError(
                f"attribute {huge[0]!r} spans more than {MAX_LABEL_SPREAD:.0e} around its mean; its squares"
                " overflow double precision: rescale the column (e.g. to its units' usual range) and fit again"
            )
        keep = _usable_columns(matrix, names)
        if not keep:
            raise InputError("no attribute can be estimated: every column is constant or a copy of another")
        matrix, dropped = matrix[:, keep], [name for index, name in enumerate(names) if index not in keep]
        names = [names[index] for index in keep]
        n_images, n_attributes = matrix.shape
        # The joint fit needs more images than coefficients (attributes + intercept) to leave a
        # residual, and the cross-validation one image per fold.
        needed = max(n_attributes + 2, self.cv)
        if n_images < needed:
            raise InputError(
                f"{n_images} images cannot estimate {n_attributes} attributes; give at least {needed}"
                f" labelled images (ideally {MIN_IMAGES_PER_ATTRIBUTE * n_attributes} or more)"
            )
        if n_images < MIN_IMAGES_PER_ATTRIBUTE * n_attributes:
            warnings.warn(
                f"{n_images} images for {n_attributes} attributes: the directions will be noisy; give"
                f" {MIN_IMAGES_PER_ATTRIBUTE * n_attributes} or more labelled images",
                AttributeAxesWarning,
                stacklevel=2,
            )

        if self.method == "joint":
            joint = LinearRegression().fit(matrix, Z)
            directions, intercept = joint.coef_.T, joint.intercept_  # coef_: (latent_dim, n_attributes)
        else:
            directions = np.stack([LinearRegression().fit(matrix[:, [j]], Z).coef_[:, 0] for j in range(n_attributes)])
            intercept = Z.mean(axis=0) - matrix.mean(axis=0) @ directions

        readout = make_pipeline(StandardScaler(), RidgeCV(alphas=_READOUT_ALPHAS, alpha_per_target=True))
        folds = KFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        predicted = cross_val_predict(readout, Z, matrix, cv=folds).reshape(matrix.shape)  # one column comes back 1-D
        residual = ((matrix - predicted) ** 2).sum(axis=0)
        r2 = 1.0 - residual / ((matrix - matrix.mean(axis=0)) ** 2).sum(axis=0)
        readout.fit(Z, matrix)
        scaler, ridge = readout[0], readout[1]
        # The pipeline as one linear map on raw codes, so a saved file needs no pickled objects.
        readout_coef = np.atleast_2d(ridge.coef_) / scaler.scale_
        readout_intercept = np.atleast_1d(ridge.intercept_) - readout_coef @ scaler.mean_

        for name, score in zip(names, r2):
            if score < LOW_R2:
                warnings.warn(
                    f"attribute {name!r}: the codes carry little of it (cross-validated R^2 = {score:.2f});"
                    " its axis may change it little or not at all",
                    AttributeAxesWarning,
                    stacklevel=2,
                )

        if self.metric == "covariance":
            metric_matrix = np.linalg.inv(LedoitWolf().fit(Z).covariance_)
        else:
            metric_matrix = np.eye(Z.shape[1])

        self.attribute_names_ = names
        self.directions_ = directions
        self.intercept_ = intercept
        self.r2_ = r2
        self.attribute_scale_ = matrix.std(axis=0)
        # what the labelled images span: corrections never steer an attribute past it
        self.attribute_range_ = np.stack([matrix.min(axis=0), matrix.max(axis=0)], axis=1)
        self.readout_coef_ = readout_coef
        self.readout_intercept_ = readout_intercept
        self.metric_matrix_ = metric_matrix
        self.n_images_ = n_images
        self.n_features_in_ = Z.shape[1]
        self.categorical_columns_ = [str(name) for name in categorical]
        self.dropped_attributes_ = dropped
        self.readout_gain_ = np.full(len(names), np.nan)  # set by calibrate_axes
        return self

    def transform(self, Z):
        """Read the attributes out of codes: ndarray of shape (n_codes, n_attributes)."""
        check_is_fitted(self, "directions_")
        Z = self._check_codes(Z)
        return Z @ self.readout_coef_.T + self.readout_intercept_

    def _check_codes(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim == 1:
            Z = Z[None]
        if Z.ndim != 2 or Z.shape[1] != self.n_features_in_:
            raise InputError(
                f"codes must have shape (n, {self.n_features_in_}) (the latent size these axes were fitted on);"
                f" got shape {Z.shape}"
            )
        return Z

    def _index(self, name):
        if name not in self.attribute_names_:
            raise InputError(f"no axis named {name!r}; the axes are {self.attribute_names_}")
        return self.attribute_names_.index(name)

    def other_axes(self, name, orthogonal_to):
        """The names ``orthogonal_to`` stands for (``"all"`` expanded, repeats removed), checked."""
        if orthogonal_to is None:
            return []
        if isinstance(orthogonal_to, str):
            orthogonal_to = [orthogonal_to]
        others = []
        for other in orthogonal_to:
            if other == "all":
                others += [n for n in self.attribute_names_ if n != name]
                continue
            self._index(other)
            if other == name:
                raise InputError(f"axis {name!r} cannot be made orthogonal to itself; leave it out of --orthogonal-to")
            others.append(other)
        return list(dict.fromkeys(others))

    def direction(self, name, orthogonal_to=None):
        """The direction of one attribute, optionally made orthogonal to others.

        Parameters
        ----------
        name : str
            One of :attr:`attribute_names_`.
        orthogonal_to : str or list of str, optional
            Other attribute names (any number), or ``"all"`` for every other attribute. The
            result is orthogonal to each of them in the inner product of ``metric``, and scaled
            so that its component along the original direction is that direction itself.

        Returns
        -------
        ndarray of shape (latent_dim,)

        Raises
        ------
        InputError
            An unknown name, or a direction that (nearly) lies in the span of the others.
        """
        check_is_fitted(self, "directions_")
        index = self._index(name)
        original = self._calibrated_directions()[index]
        others = self.other_axes(name, orthogonal_to)
        if not others:
            return original.copy()
        basis = self.directions_[[self._index(other) for other in others]]  # (k, latent_dim)
        metric = self.metric_matrix_
        gram = basis @ metric @ basis.T  # (k, k)
        weights = np.linalg.lstsq(gram, basis @ metric @ original, rcond=None)[0]
        projected = original - weights @ basis
        along = original @ metric @ projected  # = <projected, projected>: what is left of it
        if along <= _MIN_KEPT * (original @ metric @ original):
            raise InputError(
                f"axis {name!r} is (almost) a combination of {others} in these codes, so nothing of it is"
                " left once made orthogonal to them; make it orthogonal to fewer axes"
            )
        return projected * ((original @ metric @ original) / along)

    def _calibrated_directions(self):
        """Every direction lengthened by what the model loses of it between code and image
        (:func:`calibrate_axes`; axes not calibrated, or kept below ``MIN_GAIN``, as fitted)."""
        gain = np.asarray(self.readout_gain_, dtype=np.float64)
        return self.directions_ / np.where(np.isfinite(gain) & (gain >= MIN_GAIN), gain, 1.0)[:, None]

    def _attribute_bounds(self):
        """Lowest and highest label of every attribute in the fitted images, (n_attributes,) each;
        -inf and +inf where not kept (axes fitted before the range was)."""
        spans = getattr(self, "attribute_range_", None)
        if spans is None:
            spans = np.full((len(self.attribute_names_), 2), np.nan)
        spans = np.asarray(spans, dtype=np.float64)
        return np.where(np.isnan(spans[:, 0]), -np.inf, spans[:, 0]), np.where(np.isnan(spans[:, 1]), np.inf, spans[:, 1])

    def apply(self, Z, name, amounts, orthogonal_to=None):
        """Codes moved along one axis: ``Z[i] + amounts[k] * direction``.

        Returns
        -------
        ndarray of shape (n_codes, n_amounts, latent_dim)
        """
        Z = self._check_codes(Z)
        amounts = np.asarray(amounts, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(amounts)):
            raise InputError(f"amounts must be finite numbers; got {amounts.tolist()}")
        step = self.direction(name, orthogonal_to)
        return Z[:, None, :] + amounts[None, :, None] * step

    def summary(self):
        """One row per attribute: name, cross-validated R^2 and the length of its direction."""
        check_is_fitted(self, "directions_")
        return pd.DataFrame(
            {
                "attribute": self.attribute_names_,
                "r2_cv": self.r2_,
                "direction_norm": np.linalg.norm(self.directions_, axis=1),
            }
        )


def fit_axes(model, labels, calibrate=True, **params):
    """Encode the images of a checked labels table and fit :class:`AttributeAxes` on them.

    Parameters
    ----------
    model : StimulusModel
    labels : dict
        From :func:`gaia_stim.io.labels.read_labels_table` (``paths`` and ``attributes``).
    calibrate : bool, default=True
        Also run :func:`calibrate_axes` on the labelled codes.
    **params
        ``method``, ``metric``, ``cv``, ``random_state`` of :class:`AttributeAxes`.

    Returns
    -------
    AttributeAxes
        Fitted, with ``model_sha256_`` set to the model's.
    """
    codes = model.encode(labels["paths"])
    axes = AttributeAxes(**params).fit(codes, labels["attributes"])
    axes.model_sha256_ = model.file_sha256
    return calibrate_axes(axes, model, codes) if calibrate else axes


def calibrate_axes(axes, model, codes, n_codes=32):
    """Measure how much of each axis the model's images keep, and put it right (sets ``readout_gain_``).

    A step of one unit along an axis changes the *code's* read-out by one unit, but the decoded
    image, encoded again, often carries less of it (the decoder is not linear, and the code holds
    more than the image shows). For each axis, ``n_codes`` of ``codes`` are moved by minus and plus
    one standard deviation of the attribute, decoded, re-encoded and read out; the slope is the
    gain. Only the model and the axes' own read-out are used, never the labels of the images.

    Parameters
    ----------
    axes : AttributeAxes
        Fitted (on ``model``'s codes).
    model : StimulusModel
    codes : ndarray of shape (n, latent_dim)
        Codes of typical images, e.g. the labelled ones; the first ``n_codes`` are used.
    n_codes : int, default=32

    Returns
    -------
    AttributeAxes
        ``axes``, with ``readout_gain_`` set. Axes with a gain below ``MIN_GAIN`` are left as
        fitted, with a warning: the model barely shows them.
    """
    check_is_fitted(axes, "directions_")
    codes = axes._check_codes(codes)[:n_codes]
    gains = np.empty(len(axes.attribute_names_))
    for index, name in enumerate(axes.attribute_names_):
        scale = axes.attribute_scale_[index]
        step = axes.directions_[index] * scale
        moved = np.concatenate([codes - step, codes + step]).astype(np.float32)
        readout = axes.transform(model.encode(model.decode(moved)))[:, index]
        gains[index] = (readout[len(codes):] - readout[: len(codes)]).mean() / (2 * scale)
        if gains[index] < MIN_GAIN:
            warnings.warn(
                f"axis {name!r}: the model's images keep only {gains[index]:.2f} of a step along it; it is"
                " left uncalibrated, and moving along it will change the images little",
                AttributeAxesWarning,
                stacklevel=2,
            )
    axes.readout_gain_ = gains
    return axes


def held_attributes(axes):
    """Which attributes :func:`correct_codes` steers (bool per attribute): those the model carries.

    An attribute is held when its cross-validated R^2 is at least ``LOW_R2`` and, once calibrated,
    its read-out gain at least ``MIN_GAIN``: steering one the images barely show would chase noise.
    """
    check_is_fitted(axes, "directions_")
    gain = np.asarray(axes.readout_gain_, dtype=np.float64)
    return (np.asarray(axes.r2_) >= LOW_R2) & ~(np.isfinite(gain) & (gain < MIN_GAIN))


def image_readout(axes, model, code):
    """The axes' read-out of the model's image of one code (decode, encode, read out): (n_attributes,)."""
    code = axes._check_codes(code)
    if len(code) != 1:
        raise InputError(f"give one code; got {len(code)}")
    return axes.transform(model.encode(model.decode(code.astype(np.float32))))[0]


def correct_codes(axes, model, start, codes, asked, corrections=CORRECTIONS, base=None):
    """Moved codes steered until the model's images change each attribute by what was asked of it.

    A code moved along an axis asks the *code's* read-out for a change; the model's image of it,
    read back (decode, encode, read out), shows a little less of that attribute and a little of
    others. Each correction reads every moved code's image back and adds to the code, along the
    axes' directions (lengthened by their calibration, when :func:`calibrate_axes` has run), the
    part of the asked change that is missing and minus whatever other attributes moved; only the
    attributes the model carries are steered (:func:`held_attributes`). No attribute is steered
    past the range of the labels the axes were fitted on (or past the start's own read-out, where
    that is already outside): beyond it the model has no image to steer towards, and the read-out
    would pull the code off the family. The model and the axes' own read-out (and that range) are
    all it uses, never the images' labels. Every code is corrected on its own (a batch of one), so
    its result does not depend on which codes are corrected with it.

    Parameters
    ----------
    axes : AttributeAxes
        Fitted on ``model``'s codes.
    model : StimulusModel
    start : ndarray of shape (latent_dim,) or (1, latent_dim)
        The code the moved codes started from; its image's read-out is where the asked changes
        are counted from.
    codes : ndarray of shape (n, latent_dim)
        The moved codes (e.g. from :meth:`AttributeAxes.apply`).
    asked : ndarray of shape (n, n_attributes)
        The change asked of every attribute at each code, in attribute units (0 for those to keep
        where the start's image has them).
    corrections : int, default=CORRECTIONS
        How many times each code is read back and steered; 0 returns the codes as given.
    base : ndarray of shape (n_attributes,), optional
        ``image_readout(axes, model, start)``, when a caller moving the same start many times has
        it already (the explorer's frames); computed when not given.

    Returns
    -------
    ndarray of shape (n, latent_dim), float64
    """
    check_is_fitted(axes, "directions_")
    if isinstance(corrections, bool) or not isinstance(corrections, numbers.Integral) or not 0 <= corrections <= MAX_CORRECTIONS:
        raise InputError(f"corrections must be a whole number from 0 to {MAX_CORRECTIONS}; got {corrections!r}")
    codes = axes._check_codes(codes).copy()
    start = axes._check_codes(start)
    asked = np.asarray(asked, dtype=np.float64)
    if asked.shape != (len(codes), len(axes.attribute_names_)):
        raise InputError(f"asked must have shape ({len(codes)}, {len(axes.attribute_names_)}); got {asked.shape}")
    if corrections == 0 or not len(codes):
        return codes
    steps = axes._calibrated_directions()  # one unit of read-out change per row, as calibrated
    held = held_attributes(axes)

    base = image_readout(axes, model, start[:1]) if base is None else np.asarray(base, dtype=np.float64)
    # Past the labelled images' range the model has no image to steer towards, and chasing the
    # read-out there pushes codes off the family; a start already beyond it keeps where it is.
    low, high = axes._attribute_bounds()
    target = np.clip(base + asked, np.minimum(low, base), np.maximum(high, base))
    capped = held & np.any(target != base + asked, axis=0)
    if capped.any():
        index = int(np.flatnonzero(capped)[0])
        farthest = (base + asked)[np.argmax(np.abs(target - base - asked)[:, index]), index]
        warnings.warn(
            f"{axes.attribute_names_[index]!r}: asked for {farthest:.3g}, past the labelled images' range"
            f" ({low[index]:.3g} to {high[index]:.3g}); corrections steer it only to the edge of that range,"
            " where the model has images to draw (--corrections 0 keeps the straight line past it)",
            AttributeAxesWarning,
            stacklevel=2,
        )
    for index in range(len(codes)):
        for _ in range(corrections):
            missing = np.where(held, target[index] - image_readout(axes, model, codes[index]), 0.0)
            codes[index] = codes[index] + missing @ steps
    return codes


# --------------------------------------------------------------------------------------------
# files

_ARRAYS = ("directions_", "intercept_", "r2_", "attribute_scale_", "readout_coef_", "readout_intercept_",
           "metric_matrix_", "readout_gain_", "attribute_range_")
# arrays that files written before them lack, with what such a file means
_OPTIONAL_ARRAYS = {
    # unknown range: corrections steer as they did before the range was kept, without bounds
    "attribute_range_": lambda n_attributes: np.full((n_attributes, 2), np.nan),
}

# What an axes file holds, checked like the options of AttributeAxes: its metadata (JSON) and its
# arrays, whose shapes must agree (n_attributes directions in a latent_dim-dimensional space).
AXES_METADATA = Record({
    "format": Equals(AXES_FORMAT),
    "format_version": Whole(1),
    "model_sha256": Sha256(),
    "params": Record({
        "method": Text(choices=METHODS),
        "metric": Text(choices=METRICS),
        "cv": Whole(2, 100, option="--cv"),
        "random_state": Nullable(Whole(0)),
    }),
    "attribute_names": ListOf(Text(), min_length=1),
    "categorical_columns": ListOf(Text()),
    "dropped_attributes": ListOf(Text()),
    "n_images": Whole(1),
})
AXES_ARRAYS = Record({
    "directions": Array("f", ("n_attributes", "latent_dim"), finite=True),
    "intercept": Array("f", ("latent_dim",), finite=True),
    "r2": Array("f", ("n_attributes",)),
    "attribute_scale": Array("f", ("n_attributes",), finite=True),
    "readout_coef": Array("f", ("n_attributes", "latent_dim"), finite=True),
    "readout_intercept": Array("f", ("n_attributes",), finite=True),
    "metric_matrix": Array("f", ("latent_dim", "latent_dim"), finite=True),
    "readout_gain": Array("f", ("n_attributes",)),  # NaN until calibrated
    "attribute_range": Array("f", ("n_attributes", 2)),  # min and max of the labels; NaN: not kept
}, optional=("attribute_range",))
_AXES_FIX = "it is not a file 'gaia-stim axes fit' wrote, or it was damaged: fit the axes again"


def save_axes(axes, path, model_sha256):
    """Write fitted axes to ``path`` (an ``.npz`` without pickled objects) with the model's sha256.

    Parameters
    ----------
    axes : AttributeAxes
        Fitted.
    path : str or path-like
        Written atomically (a temporary sibling renamed into place).
    model_sha256 : str
        ``model.file_sha256`` of the model whose codes ``axes`` was fitted on.
    """
    check_is_fitted(axes, "directions_")
    if not (isinstance(model_sha256, str) and re.fullmatch(r"[0-9a-f]{64}", model_sha256)):
        raise InputError(f"model_sha256 must be a 64-digit hex sha256 (model.file_sha256); got {model_sha256!r}")
    metadata = {
        "format": AXES_FORMAT,
        "format_version": AXES_FORMAT_VERSION,
        "model_sha256": model_sha256,
        "params": axes.get_params(),
        "attribute_names": list(axes.attribute_names_),
        "categorical_columns": list(axes.categorical_columns_),
        "dropped_attributes": list(axes.dropped_attributes_),
        "n_images": int(axes.n_images_),
    }
    n_attributes = len(axes.attribute_names_)
    arrays = {name.rstrip("_"): np.asarray(getattr(axes, name) if hasattr(axes, name) else _OPTIONAL_ARRAYS[name](n_attributes),
                                           dtype=np.float64) for name in _ARRAYS}
    arrays["metadata"] = np.array(json.dumps(metadata, sort_keys=True))
    atomic_write(os.fspath(path), lambda stream: np.savez(stream, **arrays))
    return os.fspath(path)


def is_axes_file(path):
    """True if ``path`` is an attribute axes file that :func:`save_axes` wrote (readable as one)."""
    try:
        load_axes(path)
    except (GaiaStimError, OSError, ValueError, KeyError, TypeError):
        return False
    return True


def load_axes(path, model_sha256=None):
    """Read axes written by :func:`save_axes`.

    Parameters
    ----------
    path : str or path-like
    model_sha256 : str, optional
        If given, the file must have been fitted on that model (``model.file_sha256``).

    Returns
    -------
    AttributeAxes
        Fitted, with ``model_sha256_`` set.

    Raises
    ------
    ModelFileError
        Not an axes file, damaged, or fitted on another model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"axes file {path!r} not found; write one with 'gaia-stim axes fit'")
    try:
        with np.load(path, allow_pickle=False) as stored:
            metadata = json.loads(str(stored["metadata"]))
            arrays = {name: stored[name.rstrip("_")] for name in _ARRAYS
                      if name not in _OPTIONAL_ARRAYS or name.rstrip("_") in stored.files}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(
            f"cannot read axes file {path!r} ({type(error).__name__}); it is not a file 'gaia-stim axes fit' wrote"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != AXES_FORMAT:
        raise ModelFileError(f"{path!r} is not a gaia-stim attribute axes file")
    metadata = check(metadata, AXES_METADATA, path, _AXES_FIX, ModelFileError, "axes file")
    if metadata["format_version"] > AXES_FORMAT_VERSION:
        raise ModelFileError(f"axes file {path!r} was written by a newer gaia-stim; upgrade gaia-stim to read it")
    # checked by the names they are stored under (directions), set as the fitted attributes (directions_)
    arrays = check({name.rstrip("_"): value for name, value in arrays.items()}, AXES_ARRAYS, path, _AXES_FIX,
                   ModelFileError, "axes file")
    arrays = {name + "_": value for name, value in arrays.items()}
    if len(metadata["attribute_names"]) != len(arrays["directions_"]):
        raise ModelFileError(f"axes file {path!r}: {len(metadata['attribute_names'])} attribute names for"
                             f" {len(arrays['directions_'])} directions; {_AXES_FIX}")
    if model_sha256 is not None:
        check_model(metadata["model_sha256"], model_sha256, path)
    for name, absent in _OPTIONAL_ARRAYS.items():
        arrays.setdefault(name, absent(len(arrays["directions_"])))
    axes = AttributeAxes(**metadata["params"])
    for name, value in arrays.items():
        setattr(axes, name, value)
    axes.attribute_names_ = list(metadata["attribute_names"])
    axes.categorical_columns_ = list(metadata["categorical_columns"])
    axes.dropped_attributes_ = list(metadata["dropped_attributes"])
    axes.n_images_ = int(metadata["n_images"])
    axes.n_features_in_ = axes.directions_.shape[1]
    axes.model_sha256_ = metadata["model_sha256"]
    return axes


def check_model(axes_sha256, model_sha256, where="these axes"):
    """Raise ModelFileError unless axes fitted on ``axes_sha256`` may be used with ``model_sha256``."""
    if axes_sha256 != model_sha256:
        raise ModelFileError(
            f"{where!r} was fitted on the codes of the model with sha256 {axes_sha256[:12]}..., not this"
            f" model ({model_sha256[:12]}...); directions mean nothing in another model's latent space:"
            " use that model (--model), or fit axes for this one with 'gaia-stim axes fit'"
        )
