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

import numpy as np

from gaia_stim.core.atomic import file_sha256
from gaia_stim.core.errors import DataError, ModelFileError
from gaia_stim.io.sets import compare_sets, read_manifest, write_set
from gaia_stim.stimuli import KINDS

__all__ = ["find_model", "regenerate_set"]


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


def regenerate_set(out_dir, model=None):
    """Rebuild a set from its manifest and its own copies of the sources; returns the differences.

    The model is ``model`` (a loaded model or a path) or, if None, the shipped model or the path
    the manifest records, whichever has the recorded sha256. Every file but the manifest must be
    byte-identical, and the manifest identical but for its time stamp and environment
    (:func:`gaia_stim.io.sets.compare_sets`).

    Returns
    -------
    list of str
        One line per difference; empty when the set was rebuilt byte for byte.

    Raises
    ------
    DataError
        The set's manifest is unreadable, its kind cannot be regenerated, or its parameters lack
        what its kind needs (e.g. an attribute series whose axes file is gone).
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
    loaded = find_model(manifest, model)
    loaded.name = manifest["model"].get("name", loaded.name)
    sources = []
    for record in manifest.get("inputs", []):
        if "given_file" not in record:
            continue
        path = os.path.join(out_dir, *record["given_file"].split("/"))
        sources.append(np.load(path, allow_pickle=False) if path.endswith(".npy") else path)
    parameters = manifest["parameters"]
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
