"""Rebuild a stimulus set from its manifest and its own sources, and compare every byte.

The set's kind names its module in :data:`gaia_stim.stimuli.KINDS`; the module's
``from_parameters(model, sources, parameters)`` makes the result again from the manifest's
parameters and the set's copies of its sources, :func:`gaia_stim.io.sets.write_set` writes it to a
scratch folder, and :func:`gaia_stim.io.sets.compare_sets` lists what differs. This lives with the
kinds, not in :mod:`gaia_stim.io`, because it needs them and a model (io imports neither).
"""

import dataclasses
import os
import tempfile

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import DataError, ModelFileError
from gaia_stim.core.limits import MAX_CORRECTIONS, MAX_GRID_SIDE, MAX_STEPS, MAX_WHEEL_IMAGES, check_work
from gaia_stim.core.schemas import Items, ListOf, Nullable, Number, Record, Text, Whole, check, load_array
from gaia_stim.io.sets import compare_sets, read_manifest, write_set
from gaia_stim.stimuli import KINDS

__all__ = ["SET_PARAMETERS", "find_model", "regenerate_set"]

# A manifest's parameters that stand for options, checked like those options before a rebuild starts:
# a manifest edited to n_steps: 1000000 is refused as --steps 1000000 is. The kinds name their
# parameters alike (docs/architecture.md), so one table serves every kind; what a kind alone reads
# (spacing names, level bounds) its own function checks, as it checks the options.
_PAIR = Items(Number(), Number())
SET_PARAMETERS = Record({
    "sources": ListOf(Text()),
    "n_steps": Whole(2, MAX_STEPS, option="--steps"),
    "levels": ListOf(Number(), min_length=2, max_length=MAX_STEPS, option="--steps"),
    "amounts": ListOf(Number(), min_length=2, max_length=MAX_STEPS, option="--steps"),
    "level_range": _PAIR,
    "n_rows": Whole(2, MAX_GRID_SIDE, option="--rows"),
    "n_columns": Whole(2, MAX_GRID_SIDE, option="--columns"),
    "u_range": _PAIR,
    "v_range": _PAIR,
    "n_images": Whole(3, MAX_WHEEL_IMAGES, option="--n"),
    "radius": Nullable(Number(0)),
    "spacing": Text(),
    "metric": Text(),
    "seed": Nullable(Whole(0)),
    "corrections": Whole(0, MAX_CORRECTIONS, option="--corrections"),
}, optional=True, extra=True)


def _images_asked(manifest, parameters):
    """How many images rebuilding the set makes: its own count, or more if its parameters ask for more."""
    counts = [manifest.get("n_images", len(manifest["images"]))]
    if "n_rows" in parameters and "n_columns" in parameters:
        counts.append(parameters["n_rows"] * parameters["n_columns"])
    counts += [parameters[name] for name in ("n_steps", "n_images") if name in parameters]
    counts += [len(parameters[name]) for name in ("levels", "amounts") if name in parameters]
    return max(counts)


def find_model(manifest, model=None):
    """The model whose file's sha256 the manifest records: ``model`` if given, else a known path.

    Parameters
    ----------
    manifest : dict
        A stimulus set's manifest.
    model : object or str, optional
        A loaded model, or a model file or run folder; by default the shipped model or the path
        the manifest records, whichever has the recorded sha256.

    Raises
    ------
    ModelFileError
        ``model`` has another sha256, or no model file with the recorded one was found.
    """
    from gaia_stim.api import default_model_path, load_model

    wanted = manifest.get("model", {}).get("file_sha256")
    if model is not None:
        loaded = model if hasattr(model, "decode") else load_model(model)
        if loaded.file_sha256 != wanted:
            raise ModelFileError(
                f"model {getattr(loaded, 'path', model)!r} has sha256 {loaded.file_sha256[:12]}..., but the set was"
                f" made with {str(wanted)[:12]}...; give the model file the set was made with"
            )
        return loaded
    candidates = [default_model_path(), manifest.get("model", {}).get("path")]
    for path in candidates:
        if isinstance(path, str) and os.path.isfile(path) and file_sha256(path) == wanted:
            return load_model(path)
    raise ModelFileError(
        f"no model file with sha256 {str(wanted)[:12]}... found (looked at {', '.join(map(str, filter(None, candidates)))});"
        " pass --model PATH to the model the set was made with"
    )


def regenerate_set(out_dir, model=None, yes=False):
    """Rebuild a set from its manifest and its own copies of the sources; returns the differences.

    The model is ``model`` (a loaded model or a path) or, if None, the shipped model or the path
    the manifest records, whichever has the recorded sha256. Every file but the manifest must be
    byte-identical, and the manifest identical but for its time stamp and environment
    (:func:`gaia_stim.io.sets.compare_sets`). The manifest's parameters are checked like the
    options they stand for (:data:`SET_PARAMETERS`), and a rebuild of more images than the cap of
    :data:`gaia_stim.core.limits.CAPS` (``"set_images"``) is refused unless ``yes``, before the model
    is loaded.

    Returns
    -------
    list of str
        One line per difference; empty when the set was rebuilt byte for byte.

    Raises
    ------
    DataError
        The set's manifest is unreadable, its kind cannot be regenerated, its parameters lack what
        its kind needs (e.g. an attribute series whose axes file is gone) or break an option's
        limits, or a source copy is not an image or a numeric array.
    InputError
        The rebuild would make more images than the cap, and ``yes`` is false.
    ModelFileError
        No model file with the recorded sha256 was found.
    """
    from gaia_stim.stimuli.lowlevel import Adjustment

    out_dir = os.fspath(out_dir)
    manifest = read_manifest(out_dir)
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise DataError(f"{out_dir!r} holds a {kind!r} set, which cannot be regenerated (kinds: {', '.join(KINDS)})")
    if not any("given_file" in record for record in manifest.get("inputs", [])):
        raise DataError(
            f"{out_dir!r} was written by a gaia-stim without copies of its source images (format version"
            f" {manifest.get('format_version')}), so it cannot be regenerated; verify it without --regenerate"
        )
    manifest_path = os.path.join(out_dir, "manifest.json")
    parameters = check(manifest.get("parameters", {}), SET_PARAMETERS, manifest_path,
                       "write the set again (or restore its manifest.json)", what="the parameters of")
    asked = _images_asked(manifest, parameters)
    check_work("set_images", asked, yes, f"rebuilding this {kind} as its manifest describes it",
               "verify it without --regenerate")
    sources = []
    for record in manifest.get("inputs", []):
        if "given_file" not in record:
            continue
        path = os.path.join(out_dir, *record["given_file"].split("/"))
        sources.append(load_array(path, "the source copy") if path.endswith(".npy") else path)
    loaded = find_model(manifest, model)
    loaded.name = manifest["model"].get("name", loaded.name)
    parameters = manifest.get("parameters", {})
    try:
        result = KINDS[kind].from_parameters(loaded, sources, parameters)
    except KeyError as error:
        raise DataError(
            f"{out_dir!r}: its manifest's parameters lack {error}, which rebuilding a {kind} needs (it was written by"
            " an older gaia-stim); verify it without --regenerate"
        ) from None
    # the sources are shown by the names the user gave, not by the set's copies
    named = [dict(source, source=record["source"]) for source, record in zip(result.sources, manifest["inputs"])]
    result = dataclasses.replace(result, sources=named + list(result.sources[len(named):]), parameters=parameters)
    adjust = Adjustment.from_record(manifest.get("adjust"))
    with tempfile.TemporaryDirectory() as scratch:
        # the same folder name: reports beside the set are recorded by their names
        again = os.path.join(scratch, os.path.basename(os.path.abspath(out_dir)) or "set")
        write_set(again, result, loaded, adjust=adjust, movie=manifest.get("movie"),
                  source_band=bool((manifest.get("contact_sheet") or {}).get("source_band")))
        return compare_sets(out_dir, again)
