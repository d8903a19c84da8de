"""Image caches: the same bytes as the folder read into memory, read a batch at a time, refused when stale."""

import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.model.cache import ImageCache, is_cache, write_cache
from gaia_stim.model.data import load_image_folder
from gaia_stim.model.trainer import data_fingerprint


def prepare(folder, out, *extra):
    result = CliRunner().invoke(main, ["prepare", str(folder), "--out", str(out), "--image-size", "32", *extra])
    assert result.exit_code == 0, result.output
    return out


def train(data, out, steps, *extra):
    result = CliRunner().invoke(main, [
        "train", "--data", str(data), "--out", str(out), "--preset", "tiny", "--batch-size", "8",
        "--steps", str(steps), "--sample-every", "1000", "--seed", "4", *extra,
    ])
    assert result.exit_code == 0, result.output
    return torch.load(out / "checkpoint.pt", weights_only=True)


def test_a_cache_holds_what_training_reads_from_the_folder(tmp_path, blob_folder):
    cache = ImageCache(prepare(blob_folder, tmp_path / "cache"))
    images, paths = load_image_folder(blob_folder, 32, 3)
    assert cache.shape == images.shape and cache.dtype == np.uint8
    np.testing.assert_array_equal(cache[np.arange(len(cache))], images)
    assert cache.fingerprint == data_fingerprint(images)
    # the file is a plain .npy array; sources.txt names each image in order
    np.testing.assert_array_equal(np.load(tmp_path / "cache" / "images.npy", mmap_mode="r"), images)
    listed = (tmp_path / "cache" / "sources.txt").read_text().splitlines()
    assert listed == [os.path.relpath(path, blob_folder) for path in paths]


@pytest.mark.parametrize("index", [
    np.array([5, 0, 31, 5, 17]), np.array([-1, -32]), 7, -3, slice(3, 11, 2), np.array([], dtype=int),
])
def test_a_cache_is_indexed_like_the_array(tmp_path, blobs, index):
    cache = ImageCache(write_cache(tmp_path / "cache", iter(blobs), len(blobs), 32, 3))
    np.testing.assert_array_equal(cache[index], blobs[index])


def test_a_cache_may_be_written_in_batches_and_refuses_a_wrong_count(tmp_path, blobs):
    cache = ImageCache(write_cache(tmp_path / "cache", [blobs[:20], blobs[20:]], len(blobs), 32, 3))
    np.testing.assert_array_equal(cache[np.arange(32)], blobs)
    with pytest.raises(InputError, match="32 images were given for a cache of 33"):
        write_cache(tmp_path / "short", [blobs], 33, 32, 3)
    assert not (tmp_path / "short").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_training_on_a_cache_equals_training_in_memory_and_resumes_across_them(tmp_path, blob_folder):
    cache = prepare(blob_folder, tmp_path / "cache")
    in_memory = train(blob_folder, tmp_path / "memory", 4)
    from_cache = train(cache, tmp_path / "cached", 4)
    for name in ("generator", "discriminator"):
        for key, tensor in in_memory[name].items():
            assert torch.equal(tensor, from_cache[name][key]), (name, key)
    # a run started on the folder continues on its cache, exactly
    train(blob_folder, tmp_path / "switched", 2)
    continued = train(cache, tmp_path / "switched", 4, "--resume")
    for key, tensor in in_memory["generator"].items():
        assert torch.equal(tensor, continued["generator"][key]), key
    record = json.loads((tmp_path / "cached" / "run.json").read_text())
    assert record["data"] == str(cache) and record["data_fingerprint"] == in_memory["settings"]["data_fingerprint"]


def test_a_cache_is_refused_when_its_folder_changes_but_not_when_it_is_gone(tmp_path, blob_folder, blobs):
    cache = prepare(blob_folder, tmp_path / "cache")
    ImageCache(cache)
    first = sorted(blob_folder.glob("*.png"))[0]
    os.utime(first, ns=(0, 0))  # same name and size, another modification time: a replaced file
    with pytest.raises(DataError, match="stale"):
        ImageCache(cache)
    renamed = blob_folder.with_name("moved")
    blob_folder.rename(renamed)
    assert ImageCache(cache).shape == (32, 32, 32, 3)  # a cache copied elsewhere, without its source


def test_folders_with_other_manifests_train_as_image_folders(tmp_path, blob_folder):
    # `gaia-stim faces` and stimulus sets keep a manifest.json beside their images: not a cache
    faces = tmp_path / "faces"
    assert CliRunner().invoke(main, ["faces", "--n", "8", "--size", "32", "--seed", "1", "--out", str(faces)]).exit_code == 0
    assert (faces / "manifest.json").is_file() and not is_cache(faces)
    result = CliRunner().invoke(main, ["train", "--data", str(faces), "--out", str(tmp_path / "run"), "--preset", "tiny",
                                       "--batch-size", "8", "--steps", "1", "--sample-every", "5"])
    assert result.exit_code == 0, result.output
    assert "read 8 images" in result.output
    assert is_cache(prepare(blob_folder, tmp_path / "cache"))
    (tmp_path / "cache" / "images.npy").unlink()  # a damaged cache is still a cache, refused by name
    assert is_cache(tmp_path / "cache")


def listing(folder):
    return {path: open(os.path.join(folder, path), "rb").read() for path in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, path))}


def refused(folder, out, *extra):
    return CliRunner().invoke(main, ["prepare", str(folder), "--out", str(out), "--image-size", "32", *extra])


def test_prepare_never_replaces_its_own_input_folder(blob_folder):
    before = listing(blob_folder)
    for out in (blob_folder, blob_folder / "nested", blob_folder.parent):
        result = refused(blob_folder, out, "--force")
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert "image folder" in result.output
    assert listing(blob_folder) == before and (blob_folder / "nested").is_dir()


def test_prepare_force_never_deletes_a_user_s_files_beside_an_images_npy(tmp_path, blob_folder):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    np.save(theirs / "images.npy", np.zeros((2, 32, 32, 3), np.uint8))
    (theirs / "thesis.docx").write_bytes(b"years of work")
    (theirs / "data.csv").write_text("a,b\n1,2\n")
    before = listing(theirs)
    result = refused(blob_folder, theirs, "--force")
    assert result.exit_code == 1 and "thesis.docx" in result.output and "Traceback" not in result.output
    assert listing(theirs) == before


def test_prepare_force_keeps_notes_left_in_a_real_cache_and_replaces_a_clean_one(tmp_path, blob_folder):
    cache = prepare(blob_folder, tmp_path / "cache")
    (cache / "notes.txt").write_text("which photos were excluded")
    result = refused(blob_folder, cache, "--force")
    assert result.exit_code == 1 and "notes.txt" in result.output
    assert (cache / "notes.txt").read_text() == "which photos were excluded"
    os.remove(cache / "notes.txt")
    manifest = json.loads((cache / "manifest.json").read_text())
    manifest["format"] = "someone-else's"
    (cache / "manifest.json").write_text(json.dumps(manifest))
    assert refused(blob_folder, cache, "--force").exit_code == 1 and (cache / "images.npy").exists()
    manifest["format"] = "gaia-stim-image-cache"
    (cache / "manifest.json").write_text(json.dumps(manifest))
    prepare(blob_folder, cache, "--force")  # a cache gaia-stim wrote, and nothing else: replaced
    assert ImageCache(cache).shape[0] == len(before_count(blob_folder))


def before_count(folder):
    from gaia_stim.core.images import find_images

    return find_images(str(folder))
