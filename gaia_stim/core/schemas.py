"""Schemas of the files gaia-stim reads: every value read from a file is checked like an option.

A file gaia-stim reads (a stimulus set's manifest, an axes file, an image cache's manifest, a
trial list's JSON file, a labels table, a data file) can be damaged, edited by hand or written by
someone else. Its values then meet the same checks as the options they stand for -- type, range,
cap, path containment -- through one small declarative schema per file kind, written beside its
reader::

    CACHE_MANIFEST = Record({
        "format": Equals(CACHE_FORMAT),
        "shape": ListOf(Whole(1), length=4),
        "data_fingerprint": Sha256(),
    })
    manifest = check(load_json(path, "cache manifest"), CACHE_MANIFEST, path, fix="prepare the cache again")

A value that breaks its schema is one :class:`~gaia_stim.core.errors.DataError` (or the class the
reader asks for) naming the file, the field (``parameters.n_steps``, ``images[3].file``), what is
wrong with it, and the fix: ``'set/manifest.json': parameters.n_steps is 1000000, more than
--steps allows (2 to 10000); write the set again``.

Text files are read with one declared encoding, UTF-8 (a byte-order mark is accepted, as Excel
writes it): :func:`read_text` gives one error naming the file, where the first byte that is not
UTF-8 lies, and the fix (save it as UTF-8). Arrays are read with :func:`load_array`, which never
unpickles (``allow_pickle=False``) and says so when a file holds Python objects.
"""

import json
import math
import numbers
import os
import re

from gaia_stim.core.errors import DataError

__all__ = [
    "SchemaProblem", "Spec", "Equals", "Whole", "Number", "Text", "Flag", "Sha256", "InsidePath",
    "ListOf", "Items", "Record", "MapOf", "Nullable", "Array", "check", "check_inside", "read_text", "load_json",
    "load_array",
]

_SHOWN = 60  # characters of a bad value shown in a message


def _shown(value):
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, numbers.Integral):
        return "a whole number"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class SchemaProblem(Exception):
    """What is wrong with one field (``field`` as ``a.b[3].c``); :func:`check` turns it into a message."""

    def __init__(self, field, text):
        super().__init__(f"{field} {text}" if field else text)
        self.field, self.text = field, text


def _join(field, name):
    return f"{field}.{name}" if field else str(name)


class Spec:
    """A schema: ``spec.check(value, field, bindings)`` returns the value (normalised) or raises SchemaProblem."""

    def check(self, value, field, bindings):  # pragma: no cover - every spec defines it
        raise NotImplementedError

    def _fail(self, field, value, wanted):
        raise SchemaProblem(field, f"is {_shown(value)} ({_kind(value)}), not {wanted}")


class Equals(Spec):
    """Exactly ``value``."""

    def __init__(self, value):
        self.value = value

    def check(self, value, field, bindings):
        if value != self.value or type(value) is not type(self.value):
            raise SchemaProblem(field, f"is {_shown(value)}, not {self.value!r}")
        return value


def _range_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f"{minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"at least {minimum:g}"
    return f"at most {maximum:g}"


class _Bounded(Spec):
    def __init__(self, minimum=None, maximum=None, option=None):
        self.minimum, self.maximum, self.option = minimum, maximum, option

    def _bounds(self, number, field):
        low, high = self.minimum, self.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            side = "less" if low is not None and number < low else "more"
            allowed = f"{self.option} allows" if self.option else "allowed"
            shown = f"{number}" if isinstance(number, int) else f"{number:g}"
            raise SchemaProblem(field, f"is {shown}, {side} than {allowed} ({_range_text(low, high)})")
        return number


class Whole(_Bounded):
    """A whole number (not true/false, not 1.5) from ``minimum`` to ``maximum``, or one of ``choices``.

    ``option`` names the option the value stands for, so that a file's value out of range is
    refused in the option's words (``more than --steps allows (2 to 10000)``).
    """

    def __init__(self, minimum=None, maximum=None, option=None, choices=None):
        super().__init__(minimum, maximum, option)
        self.choices = choices

    def check(self, value, field, bindings):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            self._fail(field, value, "a whole number")
        if self.choices is not None and value not in self.choices:
            allowed = f" ({self.option})" if self.option else ""
            raise SchemaProblem(field, f"is {value}, not one of {', '.join(map(str, self.choices))}{allowed}")
        return self._bounds(int(value), field)


class Number(_Bounded):
    """A finite number (a whole number is one too; true/false is not) from ``minimum`` to ``maximum``."""

    def check(self, value, field, bindings):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            self._fail(field, value, "a number")
        if not math.isfinite(value):
            raise SchemaProblem(field, f"is {_shown(value)}, not a finite number")
        return self._bounds(float(value), field)


class Text(Spec):
    """A string: one of ``choices``, or matching ``pattern``, at most ``max_length`` characters."""

    def __init__(self, choices=None, pattern=None, max_length=10_000):
        self.choices, self.pattern, self.max_length = choices, pattern, max_length

    def check(self, value, field, bindings):
        if not isinstance(value, str):
            self._fail(field, value, "text")
        if self.choices is not None and value not in self.choices:
            raise SchemaProblem(field, f"is {_shown(value)}, not one of {', '.join(map(repr, self.choices))}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise SchemaProblem(field, f"is {_shown(value)}, not {self.describe()}")
        if len(value) > self.max_length:
            raise SchemaProblem(field, f"is {len(value):,} characters long, more than the {self.max_length:,} allowed")
        return value

    def describe(self):
        return f"text matching {self.pattern}"


class Sha256(Text):
    """64 lower-case hex digits."""

    def __init__(self):
        super().__init__(pattern=r"[0-9a-f]{64}")

    def describe(self):
        return "a sha256 (64 hex digits)"


class Flag(Spec):
    """true or false."""

    def check(self, value, field, bindings):
        if not isinstance(value, bool):
            self._fail(field, value, "true or false")
        return value


def check_inside(name):
    """The reason ``name`` (a relative path with forward slashes) would leave its folder, or None if it stays inside."""
    if not isinstance(name, str) or not name:
        return "an empty path"
    parts = name.split("/")
    if name.startswith("/") or os.path.isabs(name) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in parts:
        return "a path that climbs out with '..'"
    if "" in parts or "\\" in name or "\0" in name:
        return "not a plain relative path (empty parts, backslashes or NUL)"
    return None


class InsidePath(Spec):
    """A relative path with forward slashes that stays inside ``folder`` (no absolute path, no '..')."""

    def __init__(self, folder="its folder"):
        self.folder = folder

    def check(self, value, field, bindings):
        if not isinstance(value, str):
            self._fail(field, value, "a relative path")
        reason = check_inside(value)
        if reason is not None:
            raise SchemaProblem(field, f"is {_shown(value)}, {reason}, outside {self.folder}")
        return value


class ListOf(Spec):
    """A list of ``item``: ``length`` long, or from ``min_length`` to ``max_length`` (``option``: what caps it)."""

    def __init__(self, item, length=None, min_length=0, max_length=None, option=None):
        self.item, self.length, self.option = item, length, option
        self.min_length, self.max_length = (length, length) if length is not None else (min_length, max_length)

    def check(self, value, field, bindings):
        if not isinstance(value, (list, tuple)):
            self._fail(field, value, "a list")
        if self.length is not None and len(value) != self.length:
            raise SchemaProblem(field, f"holds {len(value)} values, not {self.length}")
        if len(value) < self.min_length:
            raise SchemaProblem(field, f"holds {len(value)} values, fewer than {self.min_length}")
        if self.max_length is not None and len(value) > self.max_length:
            allowed = f"{self.option} allows" if self.option else "allowed"
            raise SchemaProblem(field, f"holds {len(value):,} values, more than {allowed} ({self.max_length:,})")
        return [self.item.check(item, f"{field}[{index}]", bindings) for index, item in enumerate(value)]


class Items(Spec):
    """A list with one value per position, each with its own spec (e.g. a shape: count, height, width, channels)."""

    def __init__(self, *items):
        self.items = items

    def check(self, value, field, bindings):
        if not isinstance(value, (list, tuple)):
            self._fail(field, value, "a list")
        if len(value) != len(self.items):
            raise SchemaProblem(field, f"holds {len(value)} values, not {len(self.items)}")
        return [spec.check(item, f"{field}[{index}]", bindings) for index, (spec, item) in
                enumerate(zip(self.items, value))]


class Record(Spec):
    """A table (dict) of named fields, each with its spec.

    ``optional`` names fields that may be absent (``True``: all of them); unknown fields are refused
    unless ``extra`` (their values are then kept unchecked).
    """

    def __init__(self, fields, optional=(), extra=False):
        self.fields, self.extra = dict(fields), extra
        self.optional = set(self.fields) if optional is True else set(optional)

    def check(self, value, field, bindings):
        if not isinstance(value, dict):
            self._fail(field, value, "a table of named values")
        missing = [name for name in self.fields if name not in value and name not in self.optional]
        if missing:
            raise SchemaProblem(field, f"lacks {', '.join(map(repr, missing))}")
        unknown = [name for name in value if name not in self.fields]
        if unknown and not self.extra:
            known = ", ".join(map(repr, self.fields))
            raise SchemaProblem(field, f"holds {', '.join(map(repr, unknown[:3]))}, not one of the known names"
                                       f" ({known})")
        checked = dict(value)
        for name, spec in self.fields.items():
            if name in value:
                checked[name] = spec.check(value[name], _join(field, name), bindings)
        return checked


class MapOf(Spec):
    """A table whose keys are text and whose values all follow ``value``."""

    def __init__(self, value):
        self.value = value

    def check(self, value, field, bindings):
        if not isinstance(value, dict):
            self._fail(field, value, "a table of named values")
        return {key: self.value.check(item, _join(field, key), bindings) for key, item in value.items()}


class Nullable(Spec):
    """None, or a value of ``spec``."""

    def __init__(self, spec):
        self.spec = spec

    def check(self, value, field, bindings):
        return None if value is None else self.spec.check(value, field, bindings)


class Array(Spec):
    """A numpy array of one of the dtype ``kinds`` ("f" float, "i"/"u" integer, "b" bool, "U" text).

    ``shape`` gives each axis: an int (that length), a name (the same length wherever the name
    appears in one :func:`check`, e.g. ``("n_attributes", "latent_dim")``) or None (any length).
    """

    def __init__(self, kinds="f", shape=None, finite=False):
        self.kinds, self.shape, self.finite = kinds, shape, finite

    def check(self, value, field, bindings):
        import numpy as np

        if not isinstance(value, np.ndarray):
            self._fail(field, value, "an array")
        if value.dtype.kind not in self.kinds:
            raise SchemaProblem(field, f"is an array of {value.dtype}, not of {_dtype_words(self.kinds)}")
        if self.shape is not None:
            if value.ndim != len(self.shape):
                raise SchemaProblem(field, f"has shape {value.shape}, not {len(self.shape)} axes")
            for axis, (length, wanted) in enumerate(zip(value.shape, self.shape)):
                if isinstance(wanted, str):
                    wanted = bindings.setdefault(wanted, (length, field))[0]
                if wanted is not None and length != wanted:
                    named = self.shape[axis]
                    other = f" (the {named} of {bindings[named][1]})" if isinstance(named, str) else ""
                    raise SchemaProblem(field, f"has shape {value.shape}: axis {axis} is {length} long, not {wanted}"
                                               f"{other}")
        if self.finite and value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise SchemaProblem(field, "holds values that are not finite numbers")
        return value


def _dtype_words(kinds):
    words = {"f": "floats", "i": "integers", "u": "unsigned integers", "b": "true/false", "U": "text"}
    return " or ".join(words.get(kind, kind) for kind in kinds)


def check(value, spec, path, fix, error=DataError, what=None):
    """``value`` checked against ``spec``; raises ``error`` naming ``path``, the field, the problem and ``fix``.

    Parameters
    ----------
    value : object
        What was read from the file (parsed JSON, a dict of arrays, ...).
    spec : Spec
    path : str or path-like
        The file, for the message.
    fix : str
        What the user can do, e.g. ``"write the set again"``.
    error : type, default=DataError
        The GaiaStimError subclass to raise (e.g. ModelFileError for model and axes files).
    what : str, optional
        What the file is ("axes file"), put before its name.

    Returns
    -------
    The value, with numbers normalised (whole numbers as int, numbers as float).
    """
    try:
        return spec.check(value, "", {})
    except SchemaProblem as problem:
        where = f"{what} {os.fsdecode(path)!r}" if what else repr(os.fsdecode(path))
        raise error(f"{where}: {problem}; {fix}") from None


def read_text(path, what, error=DataError):
    """The text of the file at ``path``, read as UTF-8 (a byte-order mark is accepted and dropped).

    Any other encoding (a spreadsheet saved as Latin-1 or Windows-1252, UTF-16) is one ``error``
    naming the file, the line of the first byte that is not UTF-8, and the fix.
    """
    with open(path, "rb") as stream:
        data = stream.read()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error(f"{what} {os.fsdecode(path)!r} is UTF-16 text; gaia-stim reads UTF-8: save it as UTF-8 (in"
                    " Excel: Save As, 'CSV UTF-8')")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        byte = data[problem.start: problem.start + 1]
        raise error(
            f"{what} {os.fsdecode(path)!r} is not UTF-8 text (byte 0x{byte.hex()} on line {line}; perhaps saved as"
            " Latin-1 or Windows-1252); save it as UTF-8 (in Excel: Save As, 'CSV UTF-8'; in an editor: encoding"
            " UTF-8) and try again"
        ) from None


def load_json(path, what, error=DataError, fix="write it again"):
    """The JSON value of the file at ``path`` (UTF-8, see :func:`read_text`); unreadable JSON is one ``error``."""
    text = read_text(path, what, error)
    try:
        return json.loads(text)
    except ValueError as problem:
        raise error(f"{what} {os.fsdecode(path)!r} is not valid JSON ({problem}); {fix}") from None


def load_array(path, what, error=DataError):
    """The array in the ``.npy`` file at ``path``, read without unpickling (``allow_pickle=False``).

    A file of Python objects (an object array, which only unpickling could read, and unpickling can
    run code) or a file that is not a ``.npy`` array is one ``error`` saying so.
    """
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as problem:
        if "allow_pickle" in str(problem):
            raise error(
                f"{what} {os.fsdecode(path)!r} holds Python objects (an object array); gaia-stim reads arrays with"
                " allow_pickle=False, as loading objects could run code: save it as a numeric array"
                " (e.g. numpy.save(path, array.astype(float)))"
            ) from None
        raise error(f"{what} {os.fsdecode(path)!r} is not a readable .npy array ({problem})") from None
    except (OSError, EOFError) as problem:
        raise error(f"{what} {os.fsdecode(path)!r} is not a readable .npy array ({problem})") from None
    if not isinstance(array, np.ndarray):
        raise error(f"{what} {os.fsdecode(path)!r} is not a single .npy array (an .npz archive?)")
    return array
