"""What every kind of stimulus returns: a :class:`StimulusResult`, the one thing the set writer writes.

The record lives in :mod:`gaia_stim.io` rather than in :mod:`gaia_stim.stimuli` because the writer
(:func:`gaia_stim.io.sets.write_set`) must know it, and io imports only ``core/`` and ``io/``: the
kinds in ``stimuli/`` build a ``StimulusResult``, the writer checks it (:meth:`StimulusResult.check`)
and writes it.

:data:`KINDS` is the registry of kinds: the name a manifest states -> the module that makes it
(whose ``from_parameters(model, sources, parameters)`` rebuilds a set for ``gaia-stim verify
--regenerate``). It is filled by :mod:`gaia_stim.stimuli`, whose ``KINDS`` is this same dict, since
io cannot import the kinds themselves; the writer refuses a result whose kind is not in it.
"""

import json
import numbers
import os
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import numpy as np

from gaia_stim.core.errors import InputError

__all__ = ["KINDS", "StimulusResult", "json_default"]

KINDS = {}
"""kind name (as the manifest states it) -> the module that makes it; filled by :mod:`gaia_stim.stimuli`."""


def json_default(value):
    """What the manifest writes for values JSON has no type for (arrays, numpy scalars, paths, sets)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True, eq=False)  # eq: arrays have no single truth value
class StimulusResult:
    """A kind's images and everything the set writer records about them.

    Parameters
    ----------
    kind : str
        The kind, as the manifest states it: a key of :data:`KINDS` (``"continuum"``, ``"grid"``,
        ``"wheel"``, ``"mean"``, ``"attribute series"``).
    rows : list of dict
        One per image: the kind's own table columns (e.g. ``step``, ``morph_level``), all with the
        same keys. The writer puts ``image_file`` before them and the source copies after them.
    file_names : list of str
        One per image: its file name inside ``images/``.
    labels : list of str
        One per image: its label on the contact sheet.
    parameters : dict
        Every parameter that produced the images, the seed included (None where nothing is random);
        JSON-serialisable (numpy arrays and scalars are written as lists and numbers).
    sources : list of dict
        The prepared sources (:func:`gaia_stim.stimuli._common.prepare_sources`), copied into the set.
    caption : str, default=""
        The contact sheet's title, before the sources and the model the writer adds.
    images : ndarray of shape (n_images, S, S, C), optional
        The images, float in [0, 1] or uint8; None when only ``latents`` are held (a large grid is
        decoded a batch at a time while it is written).
    latents : ndarray of shape (n_images, latent_dim), optional
        Their codes.
    summary : dict, default={}
        Figures about the set for the manifest (e.g. the step-distance CV).
    sheet_columns : int, optional
        Images per contact-sheet row (a grid's columns).
    sheet_title : str, optional
        The contact sheet's whole title, used as it is instead of ``caption``, sources and model.
    measurements : list of dict, optional
        One per image: columns written after the source copies (what was measured in each image).
    model_column : bool, default=True
        Write the model's name in a ``model`` column, last.
    reports : dict of str to bytes, default={}
        Files written beside the set as ``OUT + suffix`` (e.g. ``".leakage.csv"``). The manifest's
        summary records each one's sha256 under ``report_key``: that record is what lets
        ``--force`` replace them later.
    report_key : str, optional
        Where the summary records the reports.
    input_files : tuple of str, default=()
        Files the result was made from besides its sources (e.g. an axes file), which a report
        may never overwrite.
    details : mapping, default={}
        The kind's own outputs (``morph_levels``, ``step_distances``, ``radius``, ...): see each kind.

    Notes
    -----
    A result reads like the dict earlier versions returned: ``result["images"]``,
    ``result["morph_levels"]`` and ``result.get("summary")`` look up a field, then ``details``.
    """

    kind: str
    rows: list
    file_names: list
    labels: list
    parameters: dict
    sources: list
    caption: str = ""
    images: object = None
    latents: object = None
    summary: dict = field(default_factory=dict)
    sheet_columns: object = None
    sheet_title: object = None
    measurements: object = None
    model_column: bool = True
    reports: dict = field(default_factory=dict)
    report_key: object = None
    input_files: tuple = ()
    details: object = field(default_factory=dict)

    def __post_init__(self):
        # the kind's own outputs are read, never changed: a result describes what was made
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    # ---- read like a dict of its fields and details

    def __getitem__(self, name):
        if name in _FIELDS:
            return getattr(self, name)
        try:
            return self.details[name]
        except KeyError:
            raise KeyError(f"{name!r}: a {self.kind} result has the fields {sorted(_FIELDS)} and the details"
                           f" {sorted(self.details)}") from None

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name):
        return name in _FIELDS or name in self.details

    # ---- the contract

    @property
    def n_images(self):
        """The number of images (of latents, where the images are decoded only when written)."""
        return len(self.images) if self.images is not None else len(self.latents)

    def check(self):
        """Raise InputError naming the first field that breaks the contract; return the result.

        The kind is registered; images or latents are arrays of the shapes above, equal in number;
        rows, file names, labels (and measurements) hold one entry per image; parameters and summary
        are JSON-serialisable; sources are source records.
        """
        kind = self.kind
        if not isinstance(kind, str) or kind not in KINDS:
            known = ", ".join(map(repr, KINDS)) or "none (import gaia_stim.stimuli)"
            raise InputError(f"StimulusResult.kind {kind!r} is not a registered kind (registered: {known});"
                             " add its module to gaia_stim.stimuli.KINDS")
        n_images = self._check_arrays()
        for name in ("rows", "file_names", "labels") + (("measurements",) if self.measurements is not None else ()):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise InputError(f"StimulusResult.{name} of a {kind} result must be a list; got {type(value).__name__}")
            if len(value) != n_images:
                raise InputError(f"StimulusResult.{name} of a {kind} result has {len(value)} entries for {n_images}"
                                 " images; give one per image")
        for name, wanted in (("rows", dict), ("measurements", dict), ("file_names", str), ("labels", str)):
            for index, item in enumerate(getattr(self, name) or ()):
                if not isinstance(item, wanted):
                    raise InputError(f"StimulusResult.{name}[{index}] of a {kind} result must be a {wanted.__name__};"
                                     f" got {type(item).__name__}")
        for name in ("parameters", "summary"):
            self._check_json(name)
        self._check_sources()
        if self.sheet_columns is not None and (isinstance(self.sheet_columns, bool)
                                               or not isinstance(self.sheet_columns, numbers.Integral)
                                               or self.sheet_columns < 1):
            raise InputError(f"StimulusResult.sheet_columns must be a whole number, 1 or more; got {self.sheet_columns!r}")
        for name in ("caption", "sheet_title"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InputError(f"StimulusResult.{name} must be text; got {type(value).__name__}")
        if not isinstance(self.reports, dict) or not all(
                isinstance(suffix, str) and suffix.startswith(".") and os.sep not in suffix and "/" not in suffix
                and isinstance(data, bytes) for suffix, data in self.reports.items()):
            raise InputError("StimulusResult.reports must map file suffixes such as '.leakage.csv' to bytes")
        if self.reports and not (isinstance(self.report_key, str) and self.report_key):
            raise InputError("StimulusResult.report_key must name the summary entry that records the reports")
        return self

    def _check_arrays(self):
        if self.images is None and self.latents is None:
            raise InputError(f"StimulusResult.images of a {self.kind} result: give the images, or their latents")
        n_images = None
        for name, ndim, what in (("images", 4, "(n_images, S, S, C)"), ("latents", 2, "(n_images, latent_dim)")):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, np.ndarray) or value.ndim != ndim or len(value) == 0:
                shape = getattr(value, "shape", type(value).__name__)
                raise InputError(f"StimulusResult.{name} of a {self.kind} result must be an array of shape {what};"
                                 f" got {shape}")
            if n_images is not None and len(value) != n_images:
                raise InputError(f"StimulusResult.latents of a {self.kind} result has {len(value)} rows for"
                                 f" {n_images} images; give one code per image")
            n_images = len(value)
        if self.images is not None and self.images.shape[-1] not in (1, 3):
            raise InputError(f"StimulusResult.images of a {self.kind} result must have 1 or 3 channels; got shape"
                             f" {self.images.shape}")
        return n_images

    def _check_json(self, name):
        value = getattr(self, name)
        if not isinstance(value, dict):
            raise InputError(f"StimulusResult.{name} of a {self.kind} result must be a dict; got {type(value).__name__}")
        for key, item in value.items():
            try:
                json.dumps({key: item}, default=json_default, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise InputError(
                    f"StimulusResult.{name}[{key!r}] of a {self.kind} result cannot be written to the manifest"
                    f" ({error}); give numbers, text, lists or dicts of them"
                ) from None

    def _check_sources(self):
        if not isinstance(self.sources, (list, tuple)):
            raise InputError(f"StimulusResult.sources must be a list of source records; got {type(self.sources).__name__}")
        for index, source in enumerate(self.sources):
            missing = [key for key in _SOURCE_KEYS if not isinstance(source, dict) or key not in source]
            if missing:
                raise InputError(f"StimulusResult.sources[{index}] of a {self.kind} result lacks {', '.join(missing)};"
                                 " make source records with gaia_stim.stimuli._common.prepare_sources")


_FIELDS = frozenset(item.name for item in fields(StimulusResult))
_SOURCE_KEYS = ("role", "source", "given", "prepared", "sha256", "changes")
