"""Bad and unlucky input, command by command: one clear line, a non-zero exit, nothing half-written.

Each case is one row of the table in docs/errors.md (written from these cases by
``scripts/write_errors_table.py``; a test below keeps the two in step). A case gives the command
line (built in a fresh folder), the exit status, words the message must hold, and optionally a
simulated failure of the system (a read-only disk, a full disk), since tests run as root.
"""

import errno
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from gaia_stim.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "faces"
FACE_A, FACE_B = str(EXAMPLES / "face_00005.png"), str(EXAMPLES / "face_00006.png")
FACE_C = str(EXAMPLES / "face_00007.png")
DOCS_TABLE = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


@dataclass
class Case:
    id: str
    input: str  # what the user gave, for the table
    argv: Callable  # (folder: Path) -> list of arguments
    status: int
    says: tuple = ()  # words the message must hold
    patch: Callable = None  # (monkeypatch) -> None: a simulated system failure
    must_not_exist: tuple = ("out",)  # paths (relative to the folder) that must not be created
    extra_check: Callable = None  # (folder) -> None
    notes: str = ""
    tags: list = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# inputs made on demand


def bomb_png(path, width=100_000, height=100_000):
    """A PNG whose header claims a huge image; a few bytes on disk."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )
    return str(path)


def write(path, data):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def float_tiff(path):
    Image.fromarray(np.full((32, 32), 200.0, dtype=np.float32), mode="F").save(path)
    return str(path)


def truncated_png(path):
    buffer = io.BytesIO()
    Image.open(FACE_A).save(buffer, format="PNG")
    return write(path, buffer.getvalue()[: len(buffer.getvalue()) // 2])


def image_folder(folder, n=16, identical=False):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(n):
        pixels = np.full((32, 32, 3), 128, np.uint8) if identical else rng.integers(0, 256, (32, 32, 3), np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:02d}.png")
    return str(folder)


def malicious_model(path):
    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {Path(path).parent / 'pwned'}",))

    with open(path, "wb") as stream:
        pickle.dump(Exploit(), stream)
    return str(path)


def torch_file(path, payload):
    torch.save(payload, path)
    return str(path)


def existing_set(folder):
    result = CliRunner().invoke(main, ["continuum", "--from", FACE_A, "--to", FACE_B, "--steps", "2",
                                       "--out", str(folder / "out")])
    assert result.exit_code == 0, result.output
    return str(folder / "out")


def non_utf8_copy(folder):
    path = os.path.join(os.fsencode(folder), b"caf\xe9.png")
    shutil.copyfile(FACE_A, path)
    return os.fsdecode(path)


def edited_set(folder):
    existing_set(folder)
    Image.new("RGB", (4, 4)).save(sorted((folder / "out" / "images").iterdir())[0])
    return continuum("--force")(folder)


def trained_run(folder, steps=1):
    data = image_folder(folder / "data")
    result = CliRunner().invoke(main, ["train", "--data", data, "--out", str(folder / "run"), "--preset", "tiny",
                                       "--batch-size", "8", "--steps", str(steps), "--sample-every", "1000"])
    assert result.exit_code == 0, result.output
    return str(folder / "run")


def fail_with(errno_code, target, name):
    """A patch making ``target.name`` raise OSError(errno_code) for paths under the test folder."""

    def patch(monkeypatch):
        real = getattr(target, name)

        def failing(*args, **kwargs):
            raise OSError(errno_code, os.strerror(errno_code), str(args[0]) if args else None)

        monkeypatch.setattr(target, name, failing)
        return real

    return patch


def prepared_cache(folder, image_size=32):
    data = image_folder(folder / "data")
    result = CliRunner().invoke(main, ["prepare", data, "--out", str(folder / "cache"), "--image-size", str(image_size)])
    assert result.exit_code == 0, result.output
    return str(folder / "cache")


def truncated_cache(folder):
    cache = prepared_cache(folder)
    images = Path(cache) / "images.npy"
    images.write_bytes(images.read_bytes()[:-100])
    return cache


def continuum(*extra, a=FACE_A, b=FACE_B):
    return lambda d: ["continuum", "--from", a(d) if callable(a) else a, "--to", b(d) if callable(b) else b,
                      "--steps", "3", "--out", str(d / "out"), *extra]


def grid(*images):
    return lambda d: ["grid", *[arg for image in images for arg in ("--image", image)], "--rows", "2", "--columns", "2",
                      "--out", str(d / "out")]


def wheel():
    return lambda d: ["wheel", "--centre", FACE_A, "--towards", FACE_B, FACE_C, "--n", "4", "--out", str(d / "out")]


def train(*extra, data=None):
    return lambda d: ["train", "--data", data(d) if data else image_folder(d / "data"), "--out", str(d / "out"),
                      "--preset", "tiny", "--batch-size", "8", "--steps", "2", "--sample-every", "1000", *extra]


def faces(*extra):
    return lambda d: ["faces", "--size", "16", "--out", str(d / "out"), *extra]


def no_leftovers(folder):
    hidden = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert hidden == [], hidden


def untouched_foreign_folder(folder):
    assert (folder / "out" / "thesis.tex").read_text() == "years of work"


def foreign_folder(d, manifest=None):
    (d / "out").mkdir()
    (d / "out" / "thesis.tex").write_text("years of work")
    if manifest is not None:
        (d / "out" / "manifest.json").write_text(manifest)
    return d


def labelled_faces(folder, edit=None, n=24):
    """Faces from 'gaia-stim faces' (32 px) with their attributes.csv, optionally edited by ``edit(table)``."""
    from gaia_stim.datasets import write_faces

    write_faces(folder / "faces", n, size=32, seed=1)
    if edit is not None:
        table = pd.read_csv(folder / "faces" / "attributes.csv", dtype=str, keep_default_na=False)
        table = edit(table)
        table.to_csv(folder / "faces" / "attributes.csv", index=False)
    return str(folder / "faces")


def axes_fit(edit=None, n=24, *extra):
    return lambda d: ["axes", "fit", "--images", labelled_faces(d, edit, n), "--labels",
                      str(d / "faces" / "attributes.csv"), "--out", str(d / "out"), *extra]


def cell(column, row, value):
    def edit(table):
        table.loc[row, column] = value
        return table

    return edit


def fitted_axes(folder, model_sha256=None):
    """An axes file for the shipped model (or one that claims another model's sha256)."""
    result = CliRunner().invoke(main, axes_fit(n=40)(folder)[:-1] + [str(folder / "axes.npz"), "--no-calibrate"])
    assert result.exit_code == 0, result.output
    if model_sha256 is not None:
        from gaia_stim.stimuli.axes import load_axes, save_axes

        save_axes(load_axes(folder / "axes.npz"), folder / "axes.npz", model_sha256)
    return str(folder / "axes.npz")


def attribute(*extra, axes=fitted_axes):
    return lambda d: ["attribute", "--axes", axes(d), "--axis", "skin_tone", "--image", FACE_A, "--range", "-1", "1",
                      "--steps", "3", "--out", str(d / "out"), *extra]


def edited_manifest(edit, make=None):
    """A set (``make(folder)``, by default a 2-step continuum) whose manifest.json ``edit(manifest, set)`` changed."""

    def argv_folder(d):
        folder = Path(make(d) if make else existing_set(d))
        path = folder / "manifest.json"
        manifest = json.loads(path.read_text())
        edit(manifest, folder)
        path.write_text(json.dumps(manifest))
        return str(folder)

    return argv_folder


def parameter(name, value):
    return lambda manifest, folder: manifest["parameters"].update({name: value})


def object_array_source(manifest, folder):
    """Replace the set's copy of source a by an object array, recorded with its sha256 (so verify passes)."""
    record = manifest["inputs"][0]
    old, new = record["given_file"], "sources/given/a_array.npy"
    os.remove(folder / old)
    np.save(folder / new, np.array([{"not": "numbers"}], dtype=object), allow_pickle=True)
    table = folder / "stimuli.csv"
    table.write_text(table.read_text().replace(old, new))
    hashes = {new: hashlib.sha256((folder / new).read_bytes()).hexdigest(),
              "stimuli.csv": hashlib.sha256(table.read_bytes()).hexdigest()}
    record["given_file"] = new
    manifest["table"]["sha256"] = hashes["stimuli.csv"]
    for entry in manifest["files"]:
        entry["file"] = new if entry["file"] == old else entry["file"]
        entry["sha256"] = hashes.get(entry["file"], entry["sha256"])


def grid_set(d):
    result = CliRunner().invoke(main, grid(FACE_A, FACE_B, FACE_C)(d))
    assert result.exit_code == 0, result.output
    return str(d / "out")


def linked_images(whole_folder):
    """A set one of whose images (or its whole images/ folder) is a link to an identical copy outside it."""

    def make(d):
        existing_set(d)
        shutil.copytree(d / "out" / "images", d / "elsewhere")
        if whole_folder:
            shutil.rmtree(d / "out" / "images")
            os.symlink(d / "elsewhere", d / "out" / "images")
        else:
            name = sorted(os.listdir(d / "out" / "images"))[0]
            os.remove(d / "out" / "images" / name)
            os.symlink(d / "elsewhere" / name, d / "out" / "images" / name)
        return ["verify", str(d / "out")]

    return make


def edited_table(edit):
    """A set whose stimuli.csv ``edit(text) -> bytes`` rewrote."""

    def make(d):
        existing_set(d)
        table = d / "out" / "stimuli.csv"
        table.write_bytes(edit(table.read_text()))
        return str(d / "out")

    return make


def replace_cell(column, row, value):
    def edit(text):
        lines = text.splitlines()
        header = lines[0].split(",")
        cells = lines[row].split(",")
        cells[header.index(column)] = value
        lines[row] = ",".join(cells)
        return ("\n".join(lines) + "\n").encode()

    return edit


def trials(*extra, stimuli=None):
    return lambda d: ["trials", "--stimuli", stimuli(d) if stimuli else existing_set(d), "--design", "identification",
                      "--seed", "1", "--out", str(d / "t.csv"), *extra]


def edited_axes(metadata=None, arrays=None):
    """An axes file fitted for the shipped model, its metadata or arrays then changed."""

    def make(d):
        path = fitted_axes(d)
        with np.load(path) as stored:
            stored = {name: stored[name] for name in stored.files}
        record = json.loads(str(stored["metadata"]))
        if metadata is not None:
            metadata(record)
        if arrays is not None:
            arrays(stored)
        stored["metadata"] = np.array(json.dumps(record))
        np.savez(path, **stored)
        return path

    return make


def data_file(d, lines=None, level=None, participant="p1", encoding="utf-8", name="data.csv"):
    """An identification data file (a PsychoPy wide CSV) of 60 answered trials; ``lines`` edits its lines."""
    rows = ["design,participant,morph_level,chose_b"]
    # "b" from level 0.6 up, but for every seventh trial: answers a fit can take a finite slope from
    rows += [f"identification,{participant},{(i % 6) / 5 if level is None or i else level},"
             f"{int((i % 6 >= 3) != (i % 7 == 0))}" for i in range(60)]
    rows = lines(rows) if lines else rows
    path = d / name
    path.write_bytes(("\n".join(rows) + "\n").encode(encoding))
    return str(path)


def analyze(*extra, **data):
    return lambda d: ["analyze", data_file(d, **data), "--bootstrap", "10", "--no-plot", "--out", str(d / "out"),
                      *extra]


def many_images(d, n=27):
    faces = sorted(EXAMPLES.glob("*.png"))
    paths = [d / f"face_{index:02d}.png" for index in range(n)]
    for index, path in enumerate(paths):
        shutil.copyfile(faces[index % len(faces)], path)
    return [str(path) for path in paths]


HELD_LOCKS = []


def held_run(d):
    """A trained run whose folder lock another process holds (here: this one, through a second open file)."""
    from gaia_stim.core.atomic import folder_lock

    run = trained_run(d)
    lock = folder_lock(run, "the run folder")
    lock.__enter__()
    HELD_LOCKS.append(lock)
    return run


def release_locks(d):
    while HELD_LOCKS:
        HELD_LOCKS.pop().__exit__(None, None, None)


# ------------------------------------------------------------------------------------------
# the cases

CASES = [
    # --- continuum: image inputs
    Case("continuum-missing-image", "`--from` a file that does not exist",
         continuum(a=lambda d: str(d / "nope.png")), 2, ("does not exist",)),
    Case("continuum-image-is-folder", "`--from` a folder", continuum(a=lambda d: str(d)), 2, ("is a directory",)),
    Case("continuum-not-an-image", "`--from` a text file named .png",
         continuum(a=lambda d: write(d / "notes.png", "hello")), 1, ("notes.png", "not an image")),
    Case("continuum-empty-file", "`--from` an empty file", continuum(a=lambda d: write(d / "empty.png", b"")), 1,
         ("empty.png", "empty")),
    Case("continuum-truncated", "`--from` a truncated PNG", continuum(a=lambda d: truncated_png(d / "cut.png")), 1,
         ("cut.png",)),
    Case("continuum-bomb", "`--from` a decompression bomb (100000x100000 header)",
         continuum(a=lambda d: bomb_png(d / "bomb.png")), 1, ("bomb.png", "too large")),
    Case("continuum-float-tiff", "`--from` a float TIFF with values 0-255",
         continuum(a=lambda d: float_tiff(d / "f.tiff")), 1, ("f.tiff", "[0, 1]")),
    Case("continuum-strip", "`--from` a 1x300 image", continuum(a=lambda d: (
        Image.new("RGB", (300, 1)).save(d / "strip.png"), str(d / "strip.png"))[1]), 1, ("strip.png", "longer")),
    Case("continuum-non-utf8-name", "`--from` a file name that is not UTF-8 (works)",
         continuum(a=lambda d: non_utf8_copy(d)), 0, (), must_not_exist=()),
    # --- continuum: numbers
    Case("continuum-one-step", "`--steps 1`", lambda d: continuum()(d) + ["--steps", "1"], 2, ("--steps",)),
    Case("continuum-steps-text", "`--steps ten`", lambda d: continuum()(d) + ["--steps", "ten"], 2,
         ("not a valid integer",)),
    Case("continuum-absurd-steps", "`--steps 1000000000`", lambda d: continuum()(d) + ["--steps", "1000000000"], 2,
         ("--steps", "10000")),
    # --- continuum: model files
    Case("model-missing", "`--model` a path that does not exist", continuum("--model", "nope.pt"), 1,
         ("nope.pt", "not found")),
    Case("model-folder-without-model", "`--model` a folder without model.pt",
         lambda d: continuum("--model", str(d))(d), 1, ("without model.pt",)),
    Case("model-not-torch", "`--model` a text file", lambda d: continuum("--model", write(d / "m.pt", "text"))(d), 1,
         ("m.pt", "cannot read")),
    Case("model-malicious-pickle", "`--model` a pickle that runs code when loaded",
         lambda d: continuum("--model", malicious_model(d / "evil.pt"))(d), 1, ("evil.pt", "cannot read"),
         extra_check=lambda d: not (d / "pwned").exists() or pytest.fail("the pickle ran")),
    Case("model-missing-keys", "`--model` a gaia-stim model file without weights",
         lambda d: continuum("--model", torch_file(d / "m.pt", {"format": "gaia-stim-model", "config": {}}))(d), 1,
         ("m.pt", "incomplete", "generator")),
    Case("model-bad-config", "`--model` a model file with a nonsense configuration",
         lambda d: continuum("--model", torch_file(d / "m.pt", {"format": "gaia-stim-model", "config": {
             "image_size": "big"}, "generator": {}}))(d), 1, ("m.pt", "configuration")),
    Case("model-weights-not-tensors", "`--model` a model file whose weights are numbers, not tensors",
         lambda d: continuum("--model", torch_file(d / "m.pt", {"format": "gaia-stim-model", "config": {},
                                                                "generator": {"w": 5}}))(d), 1,
         ("m.pt", "not all tensors")),
    Case("model-training-number", "`--model` a model file whose training record is a number",
         lambda d: continuum("--model", torch_file(d / "m.pt", {
             **torch.load(os.path.join(trained_run(d), "model.pt"), weights_only=True), "training": 5}))(d), 1,
         ("m.pt", "training record")),
    Case("model-training-tensor-info", "`info --json` on a model whose training record holds a tensor",
         lambda d: ["info", "--json", "--model", torch_file(d / "m.pt", {
             **torch.load(os.path.join(trained_run(d), "model.pt"), weights_only=True),
             "training": {"steps": torch.tensor(3)}})], 1, ("m.pt", "training record")),
    Case("model-is-checkpoint", "`--model` a training checkpoint.pt",
         lambda d: continuum("--model", os.path.join(trained_run(d), "checkpoint.pt"))(d), 1,
         ("not a gaia-stim-model",)),
    Case("model-newer-format", "`--model` written by a newer gaia-stim",
         lambda d: continuum("--model", torch_file(d / "m.pt", {"format": "gaia-stim-model", "format_version": 99,
                                                                "config": {}, "generator": {}}))(d), 1, ("newer",)),
    Case("device-cuda-absent", "`--device cuda` without a GPU", continuum("--device", "cuda"), 1, ("cuda", "cpu"),
         tags=["no-gpu"]),
    # --- continuum: the output folder
    Case("out-exists", "`--out` a folder that holds a user's files",
         lambda d: continuum()(foreign_folder(d)), 1, ("--force",), must_not_exist=(),
         extra_check=untouched_foreign_folder),
    Case("out-foreign-force", "`--out` a user's folder, with `--force`",
         lambda d: continuum("--force")(foreign_folder(d)), 1, ("not a gaia-stim stimulus set",), must_not_exist=(),
         extra_check=untouched_foreign_folder),
    Case("out-foreign-manifest-force", "`--out` a folder with the user's own manifest.json, with `--force`",
         lambda d: continuum("--force")(foreign_folder(d, '{"study": "mine"}')), 1, ("not gaia-stim's",),
         must_not_exist=(), extra_check=untouched_foreign_folder),
    Case("out-set-with-user-file-force", "`--out` a stimulus set the user added a file to, with `--force`",
         lambda d: (existing_set(d), write(d / "out" / "notes.txt", "mine"), continuum("--force")(d))[2], 1,
         ("did not write", "notes.txt"), must_not_exist=(),
         extra_check=lambda d: (d / "out" / "notes.txt").read_text() == "mine" or pytest.fail("notes lost")),
    Case("out-edited-set-force", "`--out` a stimulus set whose image the user edited, with `--force`",
         lambda d: edited_set(d), 1, ("changed after gaia-stim wrote it",), must_not_exist=()),
    Case("out-is-file", "`--out` an existing file", lambda d: continuum()((write(d / "out", "x"), d)[1]), 1,
         ("not a folder",), must_not_exist=()),
    Case("out-under-file", "`--out` a path under a file", lambda d: (
        write(d / "afile", "x"), ["continuum", "--from", FACE_A, "--to", FACE_B, "--out", str(d / "afile" / "set")])[1],
         1, ("afile", "is a file"), must_not_exist=()),
    Case("out-dot", "`--out .` (the current folder)", lambda d: (os.chdir(d), continuum()(d)[:-2] + ["--out", "."])[1],
         1, ("current folder",), must_not_exist=()),
    Case("out-trailing-slash", "`--out set/` (works)", lambda d: continuum()(d)[:-2] + ["--out", str(d / "set") + "/"],
         0, (), extra_check=lambda d: (d / "set" / "manifest.json").is_file() or pytest.fail("no set")),
    Case("out-long-name", "`--out` a 300-character name", lambda d: continuum()(d)[:-2] + ["--out", str(d / ("x" * 300))],
         1, ("bytes long", "shorter"), must_not_exist=()),
    Case("out-read-only", "`--out` on a read-only file system (simulated)", continuum(), 1,
         ("read-only",), patch=fail_with(errno.EROFS, os, "mkdir")),
    Case("out-no-permission", "`--out` in a folder the user may not write (simulated)", continuum(), 1,
         ("permission denied",), patch=fail_with(errno.EACCES, os, "mkdir")),
    Case("out-disk-full", "the disk fills up while the set is written (simulated)", continuum(), 1,
         ("disk is full",), patch=lambda m: m.setattr(
             "gaia_stim.io.sets.save_png",
             lambda pixels, path: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left", path)))),
    # --- continuum: spacing, range, low-level control, movies
    Case("continuum-spacing-unknown", "`--spacing curved`", continuum("--spacing", "curved"), 2, ("--spacing",)),
    Case("continuum-metric-unknown", "`--metric lpips`", continuum("--metric", "lpips"), 2, ("--metric",)),
    Case("continuum-metric-feature", "`--metric feature` with a model file that holds no discriminator",
         continuum("--metric", "feature"), 1, ("discriminator", "--metric")),
    Case("continuum-nlpd-absent", "`--metric nlpd` without plenoptic installed (simulated)",
         continuum("--metric", "nlpd"), 1, ("plenoptic", "gaia-stim[perceptual]"),
         patch=lambda m: (m.setitem(sys.modules, "plenoptic", None), m.setitem(sys.modules, "plenoptic.metric", None))),
    Case("continuum-range-reversed", "`--range 1 0`", continuum("--range", "1", "0"), 1, ("--range", "LOW < HIGH")),
    Case("continuum-range-nan", "`--range nan 1`", continuum("--range", "nan", "1"), 2, ("--range", "finite")),
    Case("continuum-range-one-number", "`--range 1.5` (one number)",
         lambda d: continuum()(d) + ["--range", "1.5"], 2, ("--range",)),
    Case("continuum-size-tiny", "`--size 4`", continuum("--size", "4"), 2, ("--size",)),
    Case("continuum-background-out-of-range", "`--background 2`", continuum("--mask", "circle", "--background", "2"),
         2, ("--background",)),
    Case("continuum-match-colour", "`--match luminance` on colour images without `--greyscale`",
         continuum("--match", "luminance"), 1, ("--greyscale",)),
    Case("continuum-movie-unknown", "`--movie avi`", continuum("--movie", "avi"), 2, ("--movie",)),
    Case("continuum-mp4-absent", "`--movie mp4` without imageio-ffmpeg (simulated)", continuum("--movie", "mp4"), 1,
         ("imageio-ffmpeg", "gif"), patch=lambda m: m.setitem(sys.modules, "imageio_ffmpeg", None)),
    # --- grid, wheel, mean
    Case("grid-two-images", "`grid` with 2 images", grid(FACE_A, FACE_B), 1, ("3 images", "4")),
    Case("grid-one-row", "`grid --rows 1`", lambda d: grid(FACE_A, FACE_B, FACE_C)(d) + ["--rows", "1"], 2, ("--rows",)),
    Case("grid-huge", "`grid --rows 100000`", lambda d: grid(FACE_A, FACE_B, FACE_C)(d) + ["--rows", "100000"], 2,
         ("--rows",)),
    Case("wheel-too-few", "`wheel --n 2`", lambda d: wheel()(d) + ["--n", "2"], 2, ("--n",)),
    Case("wheel-radius-zero", "`wheel --radius 0`", lambda d: wheel()(d) + ["--radius", "0"], 2, ("--radius",)),
    Case("wheel-radius-and-step-distance", "`wheel --radius 5 --step-distance 0.05`",
         lambda d: wheel()(d) + ["--radius", "5", "--step-distance", "0.05"], 1, ("--radius", "--step-distance", "not both")),
    Case("wheel-step-distance-unreachable", "`wheel --step-distance 10` (further apart than any radius gives)",
         lambda d: wheel()(d) + ["--step-distance", "10"], 1, ("--step-distance", "ask for less")),
    Case("wheel-no-plane", "`wheel` whose two images are the centre", lambda d: [
        "wheel", "--centre", FACE_A, "--towards", FACE_A, FACE_A, "--out", str(d / "out")], 1, ("span a plane",)),
    Case("mean-one-image", "`mean` of one image", lambda d: ["mean", FACE_A, "--out", str(d / "out")], 1,
         ("at least 2",)),
    # --- verify
    Case("verify-missing", "`verify` a folder that does not exist", lambda d: ["verify", str(d / "nope")], 2,
         ("does not exist",)),
    Case("verify-not-a-set", "`verify` a folder that is not a stimulus set",
         lambda d: (d.joinpath("mine").mkdir(), ["verify", str(d / "mine")])[1], 1, ("manifest.json", "not a gaia-stim")),
    Case("verify-altered-image", "`verify` a set with one image altered",
         lambda d: (existing_set(d), Image.new("RGB", (4, 4)).save(sorted((d / "out" / "images").iterdir())[0]),
                    ["verify", str(d / "out")])[2], 1,
         ("step_00_morph_0.000.png", "sha256"), must_not_exist=()),
    Case("verify-regenerate-other-model", "`verify --regenerate --model` another model file",
         lambda d: (existing_set(d), ["verify", str(d / "out"), "--regenerate", "--model",
                                      trained_run(d)])[1], 1, ("sha256", "the model file the set was made with"),
         must_not_exist=()),
    # --- train
    Case("train-data-missing", "`--data` a folder that does not exist",
         train(data=lambda d: str(d / "nope")), 1, ("nope", "does not exist")),
    Case("train-data-empty", "`--data` an empty folder", train(data=lambda d: (d.joinpath("e").mkdir(), str(d / "e"))[1]),
         1, ("no images",)),
    Case("train-data-broken-image", "`--data` with one broken image",
         train(data=lambda d: (image_folder(d / "data"), write(d / "data" / "zz.png", "broken"))[0]), 1, ("zz.png",)),
    Case("train-data-bomb", "`--data` with a decompression bomb",
         train(data=lambda d: (image_folder(d / "data"), bomb_png(d / "data" / "zz.png"))[0]), 1, ("zz.png", "large")),
    Case("train-data-too-few", "`--data` with fewer images than one batch",
         train(data=lambda d: image_folder(d / "data", n=3)), 1, ("fewer than one batch",)),
    Case("train-identical-images", "`--data` of identical images (trains; no NaN)",
         train(data=lambda d: image_folder(d / "data", identical=True)), 0, (), must_not_exist=()),
    Case("train-odd-batch", "`--batch-size 7`", lambda d: train()(d) + ["--batch-size", "7"], 1, ("even",)),
    Case("train-batch-zero", "`--batch-size 0`", lambda d: train()(d) + ["--batch-size", "0"], 2, ("--batch-size",)),
    Case("train-lr-nan", "`--lr-max nan`", lambda d: train()(d) + ["--lr-max", "nan"], 2, ("--lr-max", "finite")),
    Case("train-lr-inf", "`--lr-max inf`", lambda d: train()(d) + ["--lr-max", "inf"], 2, ("--lr-max", "finite")),
    Case("train-lr-negative", "`--lr-max -1`", lambda d: train()(d) + ["--lr-max", "-1"], 2, ("--lr-max", "greater than 0")),
    Case("train-alpha-negative", "`--alpha -1`", lambda d: train()(d) + ["--alpha", "-1"], 2, ("--alpha",)),
    Case("train-warmup-lr-zero", "`--warmup-lr 0`", lambda d: train()(d) + ["--warmup-lr", "0"], 2, ("--warmup-lr",)),
    Case("train-seed-negative", "`--seed -1`", lambda d: train()(d) + ["--seed", "-1"], 2, ("--seed",)),
    Case("train-recipe-unknown", "`--recipe fast`", lambda d: train()(d) + ["--recipe", "fast"], 2, ("--recipe",)),
    Case("train-ema-decay-one", "`--ema-decay 1` (the average would never move)",
         lambda d: train()(d) + ["--ema-decay", "1"], 2, ("--ema-decay", "less than 1")),
    Case("train-recon-weight-negative", "`--recon-weight -1`", lambda d: train()(d) + ["--recon-weight", "-1"], 2,
         ("--recon-weight", "at least 0")),
    Case("train-recon-weight-inf", "`--recon-weight inf`", lambda d: train()(d) + ["--recon-weight", "inf"], 2,
         ("--recon-weight", "finite")),
    Case("train-warmup-bce-negative", "`--warmup-bce -1`", lambda d: train()(d) + ["--warmup-bce", "-1"], 2,
         ("--warmup-bce", "at least 0")),
    Case("train-warmup-bce-nan", "`--warmup-bce nan`", lambda d: train()(d) + ["--warmup-bce", "nan"], 2,
         ("--warmup-bce", "finite")),
    Case("train-steps-zero", "`--steps 0`", lambda d: train()(d) + ["--steps", "0"], 2, ("--steps",)),
    Case("train-image-size-odd", "`--image-size 40` (not a multiple of 16)", lambda d: train()(d) + ["--image-size", "40"],
         1, ("multiple of 16",)),
    Case("train-image-size-huge", "`--image-size 100000`", lambda d: train()(d) + ["--image-size", "100000"], 2,
         ("--image-size",)),
    Case("train-max-time-text", "`--max-time soon`", lambda d: train()(d) + ["--max-time", "soon"], 2, ("duration",)),
    Case("train-out-is-run", "`--out` a finished run, without `--resume`",
         lambda d: (trained_run(d), ["train", "--data", str(d / "data"), "--out", str(d / "run"), "--preset", "tiny",
                                     "--batch-size", "8"])[1], 1, ("--resume",), must_not_exist=()),
    Case("train-out-foreign", "`--out` a folder of the user's files",
         lambda d: train()(foreign_folder(d)), 1, ("holds other files",), must_not_exist=(),
         extra_check=untouched_foreign_folder),
    Case("train-out-model-without-checkpoint", "`--out` a finished run whose checkpoint.pt is gone",
         lambda d: (trained_run(d), os.remove(d / "run" / "checkpoint.pt"),
                    ["train", "--data", str(d / "data"), "--out", str(d / "run"), "--preset", "tiny",
                     "--batch-size", "8"])[2], 1, ("never started afresh",), must_not_exist=(),
         extra_check=lambda d: (d / "run" / "model.pt").exists() or pytest.fail("model.pt lost")),
    Case("train-resume-nothing", "`--resume` a folder without a checkpoint",
         lambda d: ["train", "--out", str(d), "--resume"], 1, ("no checkpoint.pt",)),
    Case("train-resume-changed-seed", "`--resume` with another `--seed`",
         lambda d: ["train", "--out", trained_run(d), "--resume", "--steps", "3", "--seed", "9"], 1,
         ("--seed 9 (the run has 0)",)),
    Case("train-resume-same-options", "`--resume` repeating the run's own options (works)",
         lambda d: ["train", "--out", trained_run(d), "--resume", "--steps", "2", "--preset", "tiny",
                    "--batch-size", "8"], 0, ()),
    Case("train-resume-corrupt-checkpoint", "`--resume` with a damaged checkpoint.pt",
         lambda d: (trained_run(d), write(d / "run" / "checkpoint.pt", b"\0" * 100),
                    ["train", "--out", str(d / "run"), "--resume", "--steps", "3"])[2], 1,
         ("checkpoint.pt", "cannot read")),
    Case("train-resume-corrupt-run-json", "`--resume` with a damaged run.json (works: settings come from the checkpoint)",
         lambda d: (trained_run(d), write(d / "run" / "run.json", "{not json"),
                    ["train", "--out", str(d / "run"), "--resume", "--steps", "2"])[2], 0, ()),
    Case("train-resume-damaged-metrics", "`--resume` with a damaged metrics.csv",
         lambda d: (trained_run(d), write(d / "run" / "metrics.csv", b"\xff\xfe garbage"),
                    ["train", "--out", str(d / "run"), "--resume", "--steps", "3"])[2], 1,
         ("metrics.csv", "damaged", "move it out")),
    Case("train-resume-other-data", "`--resume` with other images",
         lambda d: (trained_run(d), ["train", "--out", str(d / "run"), "--resume", "--steps", "3", "--data",
                                     image_folder(d / "other", n=10)])[1], 1, ("not the ones this run was trained on",)),
    Case("train-out-long-name", "`--out` a 300-character name",
         lambda d: ["train", "--data", image_folder(d / "data"), "--out", str(d / ("r" * 300)), "--preset", "tiny",
                    "--batch-size", "8"], 1,
         ("too long",), must_not_exist=()),
    Case("train-torchrun-environment", "`WORLD_SIZE=two` in the environment (set by hand, not by torchrun)",
         train(), 1, ("WORLD_SIZE", "torchrun"), patch=lambda monkeypatch: monkeypatch.setenv("WORLD_SIZE", "two")),
    # --- prepare and image caches
    Case("prepare-out-foreign-force", "`prepare --out` a user's folder with `--force`",
         lambda d: ["prepare", image_folder(d / "data"), "--out", str(foreign_folder(d) / "out"), "--force"], 1,
         ("not an image cache",), must_not_exist=(), extra_check=untouched_foreign_folder),
    Case("prepare-out-exists", "`prepare --out` an existing cache, without `--force`",
         lambda d: ["prepare", image_folder(d / "data"), "--out", prepared_cache(d)], 1, ("exists", "--force")),
    Case("prepare-out-inside-data", "`prepare --out` inside the image folder",
         lambda d: ["prepare", image_folder(d / "data"), "--out", str(d / "data" / "cache")], 1,
         ("inside the image folder",), must_not_exist=("data/cache",)),
    Case("prepare-out-is-data", "`prepare DIR --out DIR --force` (the input folder itself)",
         lambda d: ["prepare", image_folder(d / "data"), "--out", str(d / "data"), "--force"], 1,
         ("inside the image folder",), must_not_exist=(),
         extra_check=lambda d: (len(os.listdir(d / "data")) == 16) or pytest.fail("input images lost")),
    Case("prepare-out-user-files-force", "`prepare --out` a user's folder holding an images.npy, with `--force`",
         lambda d: ["prepare", image_folder(d / "data"), "--out", (write(d / "mine" / "images.npy", b"x"),
                    write(d / "mine" / "thesis.docx", b"years"), str(d / "mine"))[2], "--force"], 1,
         ("thesis.docx", "not an image cache"), must_not_exist=(),
         extra_check=lambda d: ((d / "mine" / "thesis.docx").read_bytes() == b"years") or pytest.fail("lost")),
    Case("train-cache-stale", "`train --data` a cache whose image folder changed since it was prepared",
         train(data=lambda d: (prepared_cache(d), image_folder(d / "data" / "more", n=1))[0]), 1,
         ("stale", "gaia-stim prepare")),
    Case("train-cache-truncated", "`train --data` a cache whose images.npy was cut short",
         train(data=truncated_cache), 1, ("images.npy", "prepare it again")),
    Case("train-cache-other-size", "`train --data` a cache prepared for another image size",
         train(data=lambda d: prepared_cache(d, image_size=64)), 1, ("64x64", "--image-size 32")),
    # --- trials
    Case("trials-out-inside-set", "`trials --out` inside a stimulus set",
         lambda d: ["trials", "--stimuli", existing_set(d), "--design", "identification", "--seed", "1",
                    "--out", str(d / "out" / "trials.csv"), "--force"], 1, ("folder gaia-stim wrote as a whole",),
         must_not_exist=("out/trials.csv",)),
    Case("trials-force-user-json", "`trials --out results.csv --force` beside a user's results.json",
         lambda d: ["trials", "--stimuli", existing_set(d), "--design", "identification", "--seed", "1",
                    "--out", (write(d / "results.json", '{"accuracy": 0.9}'), str(d / "results.csv"))[1], "--force"],
         1, ("not a trial list's JSON file",), must_not_exist=("results.csv",),
         extra_check=lambda d: "0.9" in (d / "results.json").read_text() or pytest.fail("results.json lost")),
    # --- faces
    Case("faces-n-zero", "`faces --n 0`", faces("--n", "0"), 2, ("--n",)),
    Case("faces-n-absurd", "`faces --n 1000000000`", faces("--n", "1000000000"), 1, ("GiB", "lower --n")),
    Case("faces-size-small", "`faces --size 8`", lambda d: faces("--n", "1")(d) + ["--size", "8"], 2, ("--size",)),
    Case("faces-seed-negative", "`faces --seed -1`", faces("--n", "1", "--seed", "-1"), 2, ("--seed",)),
    Case("faces-out-foreign-force", "`faces --out` a user's folder with `--force`",
         lambda d: faces("--n", "1", "--force")(foreign_folder(d)), 1, ("not a gaia-stim face set",),
         must_not_exist=(), extra_check=untouched_foreign_folder),
    # --- axes fit: labels tables
    Case("labels-missing-image", "`axes fit` labels naming an image that is not in `--images`",
         axes_fit(cell("file", 3, "face_99999.png")), 1, ("attributes.csv", "not found", "face_99999.png")),
    Case("labels-duplicate-name", "`axes fit` labels listing one image twice",
         axes_fit(cell("file", 5, "face_00002.png")), 1, ("'face_00002.png' is listed more than once", "lines 4, 7")),
    Case("labels-non-numeric", "`axes fit` labels with a word in a column of numbers",
         axes_fit(cell("eye_size", 4, "big")), 1, ("'eye_size', line 6", "'big' is not a number")),
    Case("labels-infinite", "`axes fit` labels with `inf` in a column",
         axes_fit(cell("nose_width", 0, "inf")), 1, ("'nose_width', line 2", "not a finite number")),
    Case("labels-nan", "`axes fit` labels with `nan` in a column",
         axes_fit(cell("nose_width", 1, "nan")), 1, ("'nose_width', line 3", "not a finite number")),
    Case("labels-empty-cell", "`axes fit` labels with an empty cell",
         axes_fit(cell("mouth_width", 2, "")), 1, ("'mouth_width', line 4", "empty")),
    Case("labels-constant-column", "`axes fit` labels with a column of one value",
         axes_fit(lambda t: t.assign(skin_tone="0.5")), 1, ("'skin_tone' has the same value ('0.5')", "drop the column")),
    Case("labels-too-few-images", "`axes fit` labels with fewer images than attributes", axes_fit(n=12), 1,
         ("12 images for 16 attributes", "at least 18")),
    Case("labels-no-file-column", "`axes fit` labels without a file column",
         axes_fit(lambda t: t.drop(columns="file")), 1, ("no column naming the image files",)),
    Case("labels-not-csv", "`axes fit --labels` an empty file",
         lambda d: ["axes", "fit", "--images", labelled_faces(d), "--labels", write(d / "labels.csv", ""),
                    "--out", str(d / "out")], 1,
         ("labels.csv", "empty")),
    Case("labels-category-works", "`axes fit` labels with a text column of categories (works: one-hot)",
         axes_fit(lambda t: t.assign(glasses=["none", "round", "square"] * 8), 24), 0, (), must_not_exist=()),
    Case("labels-semicolons-works", "`axes fit` labels separated by semicolons, with decimal commas (works)",
         lambda d: (axes_fit()(d), write(d / "faces" / "attributes.csv", (d / "faces" / "attributes.csv").read_text()
                    .replace(",", ";").replace(".", ",").replace(",png", ".png")))[0], 0, (), must_not_exist=()),
    Case("axes-out-exists", "`axes fit --out` an existing file", lambda d: axes_fit()((write(d / "out", "x"), d)[1]),
         1, ("exists", "--force"), must_not_exist=()),
    # --- attribute
    Case("attribute-other-model", "`attribute --axes` fitted on another model",
         attribute(axes=lambda d: fitted_axes(d, "0" * 64)), 1, ("axes.npz", "fitted on the codes", "000000000000")),
    Case("attribute-not-axes", "`attribute --axes` a file that is not an axes file",
         attribute(axes=lambda d: write(d / "a.npz", "text")), 1, ("a.npz", "cannot read axes file")),
    Case("attribute-unknown-axis", "`attribute --axis` a name the axes lack",
         lambda d: attribute()(d) + ["--axis", "beard"], 1, ("no axis named 'beard'", "skin_tone")),
    Case("attribute-orthogonal-to-itself", "`attribute --orthogonal-to` the axis itself",
         attribute("--orthogonal-to", "skin_tone"), 1, ("orthogonal to itself",)),
    Case("attribute-orthogonal-unknown", "`attribute --orthogonal-to` an unknown axis",
         attribute("--orthogonal-to", "beard"), 1, ("no axis named 'beard'",)),
    Case("attribute-range-nan", "`attribute --range nan 1`",
         lambda d: attribute()(d) + ["--range", "nan", "1"], 2, ("--range", "finite")),
    Case("attribute-range-empty", "`attribute --range 1 1`",
         lambda d: attribute()(d) + ["--range", "1", "1"], 2, ("--range", "two different amounts")),
    Case("attribute-one-step", "`attribute --steps 1`", lambda d: attribute()(d) + ["--steps", "1"], 2, ("--steps",)),
    # --- info
    Case("info-corrupt-model", "`info --model` a damaged file", lambda d: ["info", "--model", write(d / "m.pt", b"\x80")],
         1, ("m.pt", "cannot read")),
    # --- data loss: a command never replaces what it did not write
    Case("prepare-cache-with-notes-force", "`prepare --out` a real cache the user put notes in, with `--force`",
         lambda d: ["prepare", image_folder(d / "data"), "--out", (prepared_cache(d), write(d / "cache" / "notes.txt",
                    "mine"))[0], "--force"], 1, ("notes.txt", "not an image cache that gaia-stim wrote"),
         must_not_exist=(), extra_check=lambda d: (d / "cache" / "notes.txt").read_text() == "mine"
         or pytest.fail("notes lost")),
    Case("attribute-force-user-report", "`attribute --out DIR/smile --force` beside the user's `DIR/smile.leakage.csv`",
         lambda d: (write(d / "smile.leakage.csv", "my notes"),
                    attribute("--force")(d)[:-3] + ["--out", str(d / "smile"), "--force"])[1], 1,
         ("smile.leakage.csv", "will not be replaced"), must_not_exist=("smile",),
         extra_check=lambda d: (d / "smile.leakage.csv").read_text() == "my notes" or pytest.fail("report lost")),
    Case("trials-out-set-table", "`trials --out SET/stimuli.csv --force` (the set's own table)",
         lambda d: trials()(d)[:-2] + ["--out", str(d / "out" / "stimuli.csv"), "--force"], 1,
         ("inside", "write beside it"), must_not_exist=(),
         extra_check=lambda d: CliRunner().invoke(main, ["verify", str(d / "out")]).exit_code == 0
         or pytest.fail("the set was broken")),
    Case("axes-out-is-labels", "`axes fit --out` the `--labels` table itself, with `--force`",
         lambda d: axes_fit()(d)[:-1] + [str(d / "faces" / "attributes.csv"), "--force"], 1,
         ("one of this command's inputs",), must_not_exist=(),
         extra_check=lambda d: "face_00000.png" in (d / "faces" / "attributes.csv").read_text()
         or pytest.fail("labels lost")),
    Case("out-inside-set", "`continuum --out` a new folder inside an existing set",
         lambda d: (existing_set(d), continuum()(d)[:-2] + ["--out", str(d / "out" / "sub")])[1], 1,
         ("inside", "a folder gaia-stim wrote as a whole"), must_not_exist=("out/sub",),
         extra_check=lambda d: CliRunner().invoke(main, ["verify", str(d / "out")]).exit_code == 0
         or pytest.fail("the set was broken")),
    Case("train-resume-while-running", "`train --resume` a run another process is training",
         lambda d: ["train", "--out", held_run(d), "--resume", "--steps", "2"], 1, ("in use", "pid"),
         must_not_exist=(), extra_check=release_locks),
    # --- work sized before it starts
    Case("trials-reps-absurd", "`trials --reps 1000000000`", trials("--reps", "1000000000"), 1,
         ("2,000,000,000 trials", "--reps", "--yes"), must_not_exist=("t.csv", "t.json")),
    Case("trials-sidecar-is-folder", "`trials --out t.csv --force` where `t.json` is a folder",
         lambda d: ((d / "t.json").mkdir(), trials("--force")(d))[1], 1, ("t.json", "will not be replaced"),
         must_not_exist=("t.csv",)),
    Case("analyze-bootstrap-absurd", "`analyze --fitter scipy --bootstrap 1000000000`",
         analyze("--fitter", "scipy", "--bootstrap", "1000000000"), 1,
         ("1,000,000,000 fits", "days", "--bootstrap", "--yes")),
    Case("analyze-blank-design", "`analyze` a data file with a blank design cell on an answered trial",
         analyze(lines=lambda rows: rows[:4] + [rows[4].replace("identification", "", 1)] + rows[5:]), 1,
         ("line 5", "empty design cell")),
    Case("grid-million-images", "`grid --rows 1000 --columns 1000`",
         lambda d: grid(FACE_A, FACE_B, FACE_C)(d) + ["--rows", "1000", "--columns", "1000"], 1,
         ("1,000,000 images", "GB", "--rows", "--yes")),
    Case("verify-regenerate-n-steps-absurd", "`verify --regenerate` a manifest edited to `n_steps: 1000000`",
         lambda d: ["verify", edited_manifest(parameter("n_steps", 1000000))(d), "--regenerate"], 1,
         ("n_steps is 1000000", "--steps allows (2 to 10000)"), must_not_exist=()),
    Case("verify-regenerate-grid-past-cap", "`verify --regenerate` a grid whose manifest asks for 1000 x 1000",
         lambda d: ["verify", edited_manifest(lambda m, f: m["parameters"].update(n_rows=1000, n_columns=1000),
                                              make=grid_set)(d), "--regenerate"], 1,
         ("1,000,000 images", "--yes"), must_not_exist=()),
    # --- values read from files, checked like options
    Case("verify-manifest-images-number", "`verify` a manifest edited to `\"images\": 5`",
         lambda d: ["verify", edited_manifest(lambda m, f: m.update(images=5))(d)], 1,
         ("manifest.json", "images is 5", "write the set again"), must_not_exist=()),
    Case("verify-manifest-table-text", "`verify` a manifest edited to `\"table\": \"x\"`",
         lambda d: ["verify", edited_manifest(lambda m, f: m.update(table="x"))(d)], 1,
         ("table is 'x'",), must_not_exist=()),
    Case("verify-manifest-path-outside", "`verify` a manifest listing `../../outside/secret.txt`",
         lambda d: ["verify", edited_manifest(lambda m, f: m["files"].append(
             {"file": "../../outside/secret.txt", "sha256": "0" * 64}))(d)], 1, ("outside the set",),
         must_not_exist=()),
    Case("verify-image-link-outside", "`verify` a set one of whose images is a link to a copy outside it",
         linked_images(whole_folder=False), 1, ("a link to a file elsewhere",), must_not_exist=()),
    Case("verify-images-folder-link", "`verify` a set whose `images/` is a link to a copy outside it",
         linked_images(whole_folder=True), 1, ("a link to a file elsewhere",), must_not_exist=()),
    Case("verify-regenerate-n-steps-fraction", "`verify --regenerate` a manifest edited to `n_steps: 1.5`",
         lambda d: ["verify", edited_manifest(parameter("n_steps", 1.5))(d), "--regenerate"], 1,
         ("n_steps is 1.5", "not a whole number"), must_not_exist=()),
    Case("verify-regenerate-object-array-source", "`verify --regenerate` a set whose source copy is an object-array .npy",
         lambda d: ["verify", edited_manifest(object_array_source)(d), "--regenerate"], 1,
         ("a_array.npy", "Python objects", "allow_pickle=False"), must_not_exist=()),
    Case("trials-latin1-table", "`trials --stimuli` a set whose stimuli.csv was saved as Latin-1",
         trials(stimuli=edited_table(lambda text: text.replace("default", "d\u00e9fault").encode("latin-1"))), 1,
         ("stimuli.csv", "not UTF-8", "save it as UTF-8"), must_not_exist=("t.csv", "t.json")),
    Case("trials-step-fraction", "`trials --stimuli` a set whose table has `step = 1.5`",
         trials(stimuli=edited_table(replace_cell("step", 1, "1.5"))), 1, ("step '1.5' is not a whole number",),
         must_not_exist=("t.csv", "t.json")),
    Case("trials-table-path-outside", "`trials --stimuli` a set whose table names `../../../../etc/passwd`",
         trials(stimuli=edited_table(replace_cell("image_file", 1, "../../../../etc/passwd"))), 1,
         ("outside the stimulus set",), must_not_exist=("t.csv", "t.json")),
    Case("trials-level-huge", "`trials --stimuli` a set whose table has `morph_level = 1e308`",
         trials(stimuli=edited_table(replace_cell("morph_level", 1, "1e308"))), 1, ("morph_level", "outside"),
         must_not_exist=("t.csv", "t.json")),
    Case("axes-format-version-text", "`attribute --axes` an axes file with `format_version: \"2\"`",
         attribute(axes=edited_axes(metadata=lambda m: m.update(format_version="2"))), 1,
         ("axes.npz", "format_version is '2'", "not a whole number")),
    Case("axes-unknown-parameter", "`attribute --axes` an axes file with an unknown parameter",
         attribute(axes=edited_axes(metadata=lambda m: m["params"].update(beard=1))), 1,
         ("params holds 'beard'", "known names")),
    Case("axes-array-shapes", "`attribute --axes` an axes file whose arrays disagree in shape",
         attribute(axes=edited_axes(arrays=lambda a: a.update(intercept=a["intercept"][:3]))), 1,
         ("intercept has shape (3,)", "latent_dim of directions")),
    Case("cache-manifest-string-shape", "`train --data` a cache whose manifest's shape is text",
         train(data=lambda d: (prepared_cache(d), write(d / "cache" / "manifest.json", json.dumps({
             **json.loads((d / "cache" / "manifest.json").read_text()), "shape": ["16", "32", "32", "3"]})))[0]), 1,
         ("manifest.json", "shape[0] is '16' (text)", "prepare the cache again")),
    Case("labels-latin1", "`axes fit --labels` a table saved as Latin-1",
         lambda d: (axes_fit(lambda t: t.assign(glasses=["ronde", "carr\u00e9e"] * 12))(d),
                    write(d / "faces" / "attributes.csv", (d / "faces" / "attributes.csv").read_text()
                          .encode("latin-1")))[0], 1, ("attributes.csv", "not UTF-8", "save it as UTF-8")),
    Case("labels-bom-works", "`axes fit --labels` a table saved as Excel's CSV UTF-8, with a byte-order mark (works)",
         lambda d: (axes_fit()(d), write(d / "faces" / "attributes.csv", (d / "faces" / "attributes.csv").read_text()
                                          .encode("utf-8-sig")))[0], 0, (), must_not_exist=()),
    Case("labels-path-outside", "`axes fit` labels naming `../outside.png`",
         axes_fit(cell("file", 3, "../outside.png")), 1, ("'../outside.png'", "outside", "relative to the image folder")),
    Case("analyze-latin1", "`analyze` a data file saved as Latin-1", analyze(participant="Zo\u00e9", encoding="latin-1"),
         1, ("data.csv", "not UTF-8", "save it as UTF-8")),
    Case("analyze-formula-participant", "`analyze` a participant named `=1+1` (works: escaped in summary.csv)",
         analyze(participant="=1+1"), 0, (), must_not_exist=(),
         extra_check=lambda d: "'=1+1" in (d / "out" / "summary.csv").read_text() or pytest.fail("not escaped")),
    # --- numbers and names
    Case("analyze-level-huge", "`analyze` a data file with a level of 1e308", analyze(level=1e308), 1,
         ("line 2", "1e+308", "outside")),
    Case("continuum-range-huge", "`--range -1e308 1e308`", continuum("--range", "-1e308", "1e308"), 1,
         ("--range", "100 source distances")),
    Case("continuum-range-1e6", "`--range -1e6 1e6`", continuum("--range", "-1e6", "1e6"), 1,
         ("--range", "keep it within")),
    Case("grid-v-range-huge", "`grid --v-range 0 1e308`", lambda d: grid(FACE_A, FACE_B, FACE_C)(d) + [
        "--v-range", "0", "1e308"], 1, ("--v-range",)),
    Case("attribute-range-huge", "`attribute --range -1e300 1e300`",
         lambda d: attribute()(d) + ["--range", "-1e300", "1e300"], 1, ("--range", "spread of 'skin_tone'")),
    Case("continuum-newline-name", "`--from` a file whose name holds a newline (works)",
         continuum(a=lambda d: (shutil.copyfile(FACE_A, d / "new\nline.png"), str(d / "new\nline.png"))[1]), 0, (),
         must_not_exist=()),
    Case("mean-many-images", "`mean` of 27 images, as `gaia-stim mean faces/*.png` (works)",
         lambda d: ["mean", *many_images(d), "--out", str(d / "out")], 0, (), must_not_exist=()),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gives_one_clear_line(case, tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    argv = case.argv(folder)
    if case.patch is not None:
        case.patch(monkeypatch)
    result = CliRunner().invoke(main, argv)
    output = result.output
    assert result.exit_code == case.status, (output, result.exception)
    assert "Traceback" not in output
    if case.status != 0:
        error_lines = [line for line in output.splitlines() if line.startswith("Error")]
        assert len(error_lines) == 1, output
        for words in case.says:
            assert words in output, (words, output)
    for name in case.must_not_exist:
        assert not (folder / name).exists(), name
    no_leftovers(folder)
    if case.extra_check is not None:
        case.extra_check(folder)


def test_the_docs_table_lists_every_case():
    text = DOCS_TABLE.read_text()
    missing = [case.id for case in CASES if f"`{case.id}`" not in text]
    assert not missing, f"docs/errors.md lacks {missing}; run scripts/write_errors_table.py"
    assert len(CASES) >= 40
