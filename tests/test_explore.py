"""gaia-stim explore without a browser: the token, folder containment, uploads, frames, coalescing, export.

The page itself is driven in Chromium by tests/test_explore_browser.py; here the server is called
through Starlette's TestClient (and once through a real uvicorn in a subprocess).
"""

import asyncio
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from starlette import exceptions as starlette_exceptions  # noqa: E402

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore", getattr(starlette_exceptions, "StarletteDeprecationWarning", DeprecationWarning))
    from starlette.testclient import TestClient  # noqa: E402

from gaia_stim.cli import main  # noqa: E402
from gaia_stim.explore import files as explore_files  # noqa: E402
from gaia_stim.explore.server import TOKEN_HEADER, Coalescer, create_app  # noqa: E402
from gaia_stim.explore.state import ExploreSession, parse_spec  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from conftest import SquaringModel, hand_made_axes  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(ROOT, "examples", "faces")
TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def model():
    import torch

    import gaia_stim

    torch.set_num_threads(1)
    return gaia_stim.load_model("default")


@pytest.fixture(scope="module")
def axes_file(model, tmp_path_factory):
    """Hand-made axes saved for the default model (exact on any machine; see tests/conftest.py), not orthogonal."""
    from gaia_stim.stimuli.axes import save_axes

    path = tmp_path_factory.mktemp("axes") / "axes.npz"
    axes = hand_made_axes(model.latent_dim)
    axes.directions_[1, 0] = 0.125  # contrast also moves brightness's element: holding brightness changes it
    save_axes(axes, path, model.file_sha256)
    return str(path)


@pytest.fixture
def images_dir(tmp_path):
    """Four faces, one in a sub-folder; a secret beside the folder; links that leave it and one that stays."""
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    for index, name in enumerate(["face_00001.png", "face_00002.png", "face_00003.png"]):
        shutil.copy(os.path.join(FACES, name), folder / name)
    shutil.copy(os.path.join(FACES, "face_00004.png"), folder / "sub" / "face_00004.png")
    shutil.copy(os.path.join(FACES, "face_00005.png"), tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", folder / "link_out.png")
    os.symlink(tmp_path, folder / "parent_link")
    os.symlink(folder / "face_00001.png", folder / "link_in.png")
    return folder


@pytest.fixture
def out_root(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    return root


@pytest.fixture
def session(model, images_dir, out_root, axes_file):
    from gaia_stim.stimuli.axes import load_axes

    return ExploreSession(model, images_dir=str(images_dir), axes=load_axes(axes_file, model.file_sha256),
                          axes_path=axes_file, out_root=str(out_root), export_threads=1)


@pytest.fixture
def client(session):
    with TestClient(create_app(session, TOKEN), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def headers():
    return {TOKEN_HEADER: TOKEN}


def continuum_spec(**params):
    return {"kind": "continuum", "sources": ["images/face_00001.png", "images/face_00002.png"],
            "params": {"n_steps": 5, **params}}


def one_line_error(response):
    error = response.json()["error"]
    assert isinstance(error, str) and error and "\n" not in error and "Traceback" not in error
    return error


# ------------------------------------------------------------------------------------------
# the token


@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("GET", "/api/state"), ("GET", "/api/images"), ("GET", "/api/thumb?image=images/face_00001.png"),
    ("GET", "/static/explore.js"), ("POST", "/api/frame"), ("POST", "/api/export"), ("POST", "/api/upload"),
])
def test_every_request_without_the_token_is_refused(client, method, path):
    for given in ({}, {TOKEN_HEADER: "wrong"}, {TOKEN_HEADER: TOKEN[:-1]}, {TOKEN_HEADER: TOKEN + "x"}):
        client.cookies.clear()
        response = client.request(method, path, headers=given)
        assert response.status_code == 403, (path, given)
        assert "token" in one_line_error(response)


def test_the_token_opens_the_page_then_the_header_or_cookie_the_api(client):
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "<script src=\"/static/explore.js\"></script>" in page.text
    assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
    # nothing on the page is loaded from elsewhere, and the policy says so to the browser
    assert "http" not in page.text.replace("http-equiv", "")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # the cookie the page set carries the later requests (images), the header the API calls
    assert client.get("/api/thumb?image=images/face_00001.png").status_code == 200
    client.cookies.clear()
    assert client.get("/api/state").status_code == 403
    assert client.get("/api/state", headers=headers()).json()["model"]["name"] == "default"
    # another server's cookie (another port) does not open this one
    client.cookies.clear()
    client.cookies.set("gaia_stim_token_9", TOKEN)
    assert client.get("/api/state").status_code == 403


def test_static_files_ship_in_the_package_and_load_nothing_from_elsewhere():
    static = os.path.join(ROOT, "gaia_stim", "explore", "static")
    names = sorted(os.listdir(static))
    assert names == ["explore.css", "explore.js", "index.html"]
    for name in names:
        with open(os.path.join(static, name), encoding="utf-8") as handle:
            text = handle.read()
        assert "://" not in text.replace("http://www.w3.org/2000/svg", ""), name  # no CDN, no fonts from elsewhere
        assert "@import" not in text and "@font-face" not in text
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        package_data = tomllib.load(handle)["tool"]["setuptools"]["package-data"]["gaia_stim"]
    assert "explore/static/*" in package_data


# ------------------------------------------------------------------------------------------
# folder containment


@pytest.mark.parametrize("image, status", [
    ("images/../secret.png", 400),
    ("images/sub/../../secret.png", 400),
    ("images//etc/passwd", 400),
    ("images/%2Fetc%2Fpasswd", 400),
    ("images/C:/secret.png", 400),
    ("images/sub\\..\\..\\secret.png", 400),
    ("images/./face_00001.png", 400),
    ("images/link_out.png", 404),
    ("images/parent_link/secret.png", 404),
    ("images/missing.png", 404),
    ("images/sub", 404),
    ("elsewhere/face_00001.png", 400),
    ("uploads/../images/face_00001.png", 400),
    ("uploads/face.png", 404),
])
def test_image_paths_outside_the_folder_are_refused(client, image, status):
    from urllib.parse import unquote

    response = client.get("/api/thumb", params={"image": unquote(image)}, headers=headers())
    assert response.status_code == status, response.text
    one_line_error(response)
    spec = {"kind": "continuum", "sources": [unquote(image), "images/face_00001.png"]}
    frame = client.post("/api/view", json={"spec": spec}, headers=headers())
    assert frame.status_code == status
    one_line_error(frame)


def test_images_inside_the_folder_are_listed_and_served(client):
    listed = client.get("/api/images", headers=headers()).json()
    assert listed["images"] == ["images/face_00001.png", "images/face_00002.png", "images/face_00003.png",
                                "images/link_in.png", "images/sub/face_00004.png"]  # no link out, no parent link
    for image in listed["images"]:
        response = client.get("/api/thumb", params={"image": image}, headers=headers())
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        Image.open(io.BytesIO(response.content)).verify()


# ------------------------------------------------------------------------------------------
# uploads


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def post_upload(client, name, data):
    return client.post("/api/upload", content=data, headers={**headers(), "X-Filename": name})


def test_an_upload_is_kept_under_a_name_from_its_bytes_and_used_like_a_folder_image(client, out_root):
    data = png(np.asarray(Image.open(os.path.join(FACES, "face_00006.png")).convert("RGB")))
    first = post_upload(client, "my face.png", data)
    assert first.status_code == 200, first.text
    image = first.json()["image"]
    digest = hashlib.sha256(data).hexdigest()[:12]
    assert image == f"uploads/my_face_{digest}.png"
    assert (out_root / "explore_uploads" / f"my_face_{digest}.png").read_bytes() == data
    assert post_upload(client, "my face.png", data).json()["image"] == image  # same bytes, same file
    assert client.get("/api/images", headers=headers()).json()["uploads"] == [image]
    view = client.post("/api/view", json={"spec": {"kind": "continuum", "sources": ["images/face_00001.png", image]}},
                       headers=headers())
    assert view.status_code == 200 and view.json()["sources"][1]["ssim"] > 0.5


@pytest.mark.parametrize("name, data, message", [
    ("empty.png", b"", "empty"),
    ("notes.png", b"these are not pixels" * 10, "not an image"),
    ("cut.png", png(np.zeros((64, 64, 3), np.uint8) + 90)[:60], "cannot be used"),
    ("anim.gif", None, "GIF image"),
])
def test_a_bad_upload_gets_one_clear_line_and_nothing_is_kept(client, out_root, name, data, message):
    if data is None:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format="GIF")
        data = buffer.getvalue()
    response = post_upload(client, name, data)
    assert response.status_code == 400
    assert message in one_line_error(response)
    folder = out_root / "explore_uploads"
    assert not folder.exists() or os.listdir(folder) == []


def test_an_upload_over_the_size_cap_is_refused(client, monkeypatch):
    import gaia_stim.explore.server as server

    monkeypatch.setattr(server, "MAX_UPLOAD_BYTES", 1000)
    response = post_upload(client, "big.png", png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)))
    assert response.status_code == 413 and "MiB" in one_line_error(response)
    monkeypatch.setattr(explore_files, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(explore_files.InputError, match="more than"):
        explore_files.save_upload("/nonexistent", "x.png", b"x" * 101)


# ------------------------------------------------------------------------------------------
# frames: the kind's arithmetic at one position


def kind_result(session, spec):
    return session.result(parse_spec(spec, session.axes))


@pytest.mark.parametrize("spec, positions", [
    (continuum_spec(level_range=[-0.5, 1.5], n_steps=7),  # levels in thirds: no arithmetic is exact by luck
     lambda result: [{"level": float(x)} for x in result["morph_levels"]]),
    ({"kind": "grid", "sources": ["images/face_00001.png", "images/face_00002.png", "images/face_00003.png",
                                  "images/sub/face_00004.png"], "params": {"n_rows": 2, "n_columns": 3}},
     lambda result: [{"u": float(u), "v": float(v)} for v in result["v"] for u in result["u"]]),
    ({"kind": "wheel", "sources": ["images/face_00001.png", "images/face_00002.png", "images/face_00003.png"],
      "params": {"n_images": 5}},
     lambda result: [{"angle": 2 * np.pi * i / 5} for i in range(5)]),
    ({"kind": "attribute", "sources": ["images/face_00002.png"],
      "params": {"axis": "contrast", "orthogonal_to": ["brightness"], "amount_range": [-2, 2], "n_steps": 3}},
     lambda result: [{"amounts": {"contrast": float(x)}} for x in result["amounts"]]),
])
def test_a_frame_is_the_kinds_image_at_its_position(session, spec, positions):
    """The latent of a frame at each step's position is the kind's latent, to the bit; its PNG is that decode."""
    from gaia_stim.io.images import to_uint8

    checked = parse_spec(spec, session.axes)
    result = session.result(checked)
    for index, position in enumerate(positions(result)):
        latent = session.latent(checked, position).astype(np.float32)
        np.testing.assert_array_equal(latent[0], np.asarray(result["latents"])[index])
        data, info = session.frame(checked, position)
        expected = to_uint8(session.model.decode(latent))[0]
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), expected)
        assert info["decode_ms"] > 0


def test_a_frame_gets_the_writers_low_level_control(session):
    """Greyscale, size and mask go through the writer's Adjustment; matching takes the exported set's targets."""
    from gaia_stim.io.images import to_uint8
    from gaia_stim.stimuli.lowlevel import Adjustment

    spec = continuum_spec()
    spec["adjust"] = {"greyscale": True, "size": 48, "mask": "circle", "background": 0.25, "match": "luminance"}
    checked = parse_spec(spec)
    data, _ = session.frame(checked, {"level": 0.37})
    shown = np.asarray(Image.open(io.BytesIO(data)))
    result = session.result(checked)
    adjust = Adjustment(True, 48, "luminance", "circle", 0.25).fitted([np.asarray(result["images"])])
    decoded = session.model.decode(session.latent(checked, {"level": 0.37}).astype(np.float32))
    np.testing.assert_array_equal(shown, adjust.apply(to_uint8(decoded))[0][..., 0])
    assert shown.shape == (48, 48) and shown[0, 0] == round(0.25 * 255)


@pytest.mark.parametrize("corrections, contrast_read", [(None, 0.2), (2, 0.0)])
def test_the_live_leakage_readout_is_asked_against_read_out(tmp_path, corrections, contrast_read):
    """With a model that decodes its codes exactly, what is read out is what the axes' read-out predicts.

    On the straight line (the default) contrast leaks as its read-out says; asked for, corrections
    steer the code until it reads 0, as 'gaia-stim attribute --corrections' does.
    """
    model = SquaringModel(image_size=16, channels=1)
    axes = hand_made_axes(model.latent_dim)
    Image.fromarray(np.full((16, 16), 64, np.uint8)).save(tmp_path / "grey.png")  # codes near 0: inside the decoder's range
    session = ExploreSession(model, images_dir=str(tmp_path), axes=axes, out_root=str(tmp_path), export_threads=1)
    params = {"axis": "brightness", **({} if corrections is None else {"corrections": corrections})}
    spec = parse_spec({"kind": "attribute", "sources": ["images/grey.png"], "params": params}, axes)
    _, info = session.frame(spec, {"amounts": {"brightness": 0.2}})
    readout = {row["name"]: row for row in info["readout"]}
    # brightness moves element 0 by 0.5 per unit and is read from it twice over: read = asked (0.2 / 0.5 SD)
    assert readout["brightness"]["asked"] == pytest.approx(0.4)
    assert readout["brightness"]["read"] == pytest.approx(0.4, abs=1e-5)
    # contrast reads 0.5 of element 0: 0.5 * 0.1 = 0.05, over its SD 0.25: it leaks 0.2 SD, asked 0
    assert readout["contrast"]["asked"] == 0
    assert readout["contrast"]["read"] == pytest.approx(contrast_read, abs=1e-5)


# ------------------------------------------------------------------------------------------
# coalescing


def test_the_coalescer_runs_only_the_newest_of_the_requests_that_waited():
    started, release, ran = threading.Event(), threading.Event(), []

    async def run(job):
        return await asyncio.get_running_loop().run_in_executor(None, job)

    def job(seq):
        def work():
            ran.append(seq)
            if seq == 1:
                started.set()
                release.wait(5)
            return seq
        return work

    async def scenario():
        coalescer = Coalescer(run)
        first = asyncio.create_task(coalescer.submit("page", 1, job(1)))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        waiting = [asyncio.create_task(coalescer.submit("page", seq, job(seq))) for seq in (2, 3, 4, 5)]
        other = asyncio.create_task(coalescer.submit("another page", 1, job(101)))
        await asyncio.sleep(0.05)
        stale = await coalescer.submit("page", 3, job(3))  # older than the newest: answered at once
        release.set()
        return await first, await asyncio.gather(*waiting), await other, stale

    first, waiting, other, stale = asyncio.run(scenario())
    assert first == 1 and waiting == [None, None, None, 5] and other == 101 and stale is None
    assert ran == [1, 5, 101]  # seqs 2..4 were never decoded


def test_the_server_answers_only_the_newest_of_concurrent_frame_requests(session, monkeypatch):
    import httpx

    decoded = []
    original = session.frame

    def slow_frame(spec, position):
        decoded.append(position["level"])
        time.sleep(0.3)
        return original(spec, position)

    monkeypatch.setattr(session, "frame", slow_frame)
    app = create_app(session, TOKEN)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            async def frame(seq):
                body = {"spec": continuum_spec(), "position": {"level": seq / 10}, "seq": seq, "client": "page"}
                return await client.post("/api/frame", json=body, headers=headers())

            first = asyncio.create_task(frame(1))
            await asyncio.sleep(0.1)  # the first decode is running
            later = [asyncio.create_task(frame(seq)) for seq in (2, 3, 4, 5)]
            return [await first] + list(await asyncio.gather(*later))

    answers = asyncio.run(scenario())
    assert [answer.status_code for answer in answers] == [200, 204, 204, 204, 200]
    assert [answer.headers["x-gaia-stim-seq"] for answer in answers] == ["1", "2", "3", "4", "5"]
    assert decoded == [0.1, 0.5]
    assert json.loads(answers[-1].headers["x-gaia-stim-info"])["decode_ms"] > 0


# ------------------------------------------------------------------------------------------
# export


def run_command(command, out):
    """Run a shown command line (in this process), writing to ``out`` instead."""
    words = shlex.split(command.split(" && ", 1)[-1])
    assert words[0] == "gaia-stim"
    words[words.index("--out") + 1] = str(out)
    if "--force" in words:
        words.remove("--force")
    result = CliRunner().invoke(main, words[1:])
    assert result.exit_code == 0, result.output
    return result


def set_bytes(folder):
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder)
            if relative.startswith("images") or relative == "stimuli.csv":
                with open(path, "rb") as handle:
                    files[relative] = handle.read()
    return files


@pytest.mark.parametrize("spec", [
    {**continuum_spec(spacing="equal", metric="ssim", level_range=[-0.25, 1.25]),
     "adjust": {"greyscale": True, "mask": "raised-cosine", "background": 0.3}},
    {"kind": "grid", "sources": ["images/face_00001.png", "images/face_00002.png", "images/face_00003.png"],
     "params": {"n_rows": 2, "n_columns": 3, "u_range": [0, 1.5]}, "adjust": {"size": 32}},
    {"kind": "wheel", "sources": ["images/face_00001.png", "images/face_00002.png", "images/sub/face_00004.png"],
     "params": {"n_images": 4, "radius": 123.456789, "spacing": "equal"}},
    {"kind": "attribute", "sources": ["images/face_00003.png"],
     "params": {"axis": "brightness", "orthogonal_to": ["contrast", "brightness"], "amount_range": [-1.5, 2.5],
                "n_steps": 3}},
])
def test_an_export_is_intact_regenerates_and_is_what_its_command_line_writes(client, out_root, tmp_path, spec):
    from gaia_stim.io.sets import verify_set
    from gaia_stim.stimuli.regenerate import regenerate_set

    response = client.post("/api/export", json={"spec": spec, "out": "sets/mine"}, headers=headers())
    assert response.status_code == 200, response.text
    answer = response.json()
    exported = out_root / "sets" / "mine"
    assert answer["path"] == str(exported) and answer["problems"] == []
    assert verify_set(exported) == [] and regenerate_set(exported) == []
    again = tmp_path / "from_the_command_line"
    run_command(answer["command"], again)
    mine, theirs = set_bytes(exported), set_bytes(again)
    assert len(mine) > 1 and mine == theirs
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["kind"] == {"attribute": "attribute series"}.get(spec["kind"], spec["kind"])


def test_an_export_uses_the_steps_the_page_previewed(client):
    steps = client.post("/api/steps", json={"spec": continuum_spec(spacing="equal")}, headers=headers()).json()
    answer = client.post("/api/export", json={"spec": continuum_spec(spacing="equal"), "out": "equal"},
                         headers=headers()).json()
    manifest = json.loads(open(os.path.join(answer["path"], "manifest.json")).read())
    assert manifest["parameters"]["morph_levels"] == steps["positions"]
    assert steps["cv"] < 0.05 and len(steps["images"]) == 5


@pytest.mark.parametrize("out, status", [
    ("../escaped", 400), ("/tmp/absolute", 400), ("a/../../b", 400), ("", 400), ("linked/set", 400),
])
def test_an_export_outside_the_out_root_is_refused(client, out_root, tmp_path, out, status):
    os.symlink(tmp_path, out_root / "linked")
    response = client.post("/api/export", json={"spec": continuum_spec(), "out": out}, headers=headers())
    assert response.status_code == status
    one_line_error(response)
    assert sorted(os.listdir(out_root)) == ["linked"]


def test_an_export_never_replaces_what_gaia_stim_did_not_write(client, out_root):
    mine = out_root / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("my own file")
    for force in (False, True):
        response = client.post("/api/export", json={"spec": continuum_spec(), "out": "notes", "force": force},
                               headers=headers())
        assert response.status_code == 409
        one_line_error(response)
    assert (mine / "thesis.txt").read_text() == "my own file"
    first = client.post("/api/export", json={"spec": continuum_spec(), "out": "set"}, headers=headers())
    assert first.status_code == 200
    again = client.post("/api/export", json={"spec": continuum_spec(n_steps=3), "out": "set"}, headers=headers())
    assert again.status_code == 409 and "force" in one_line_error(again)
    forced = client.post("/api/export", json={"spec": continuum_spec(n_steps=3), "out": "set", "force": True},
                         headers=headers())
    assert forced.status_code == 200 and forced.json()["n_images"] == 3 and forced.json()["command"].endswith("--force")


@pytest.mark.parametrize("spec, words", [
    ({**continuum_spec(), "params": {"n_steps": 1}}, "steps"),
    ({**continuum_spec(), "params": {"spacing": "cubic"}}, "spacing"),
    ({**continuum_spec(), "params": {"level_range": [1, 0]}}, "LOW < HIGH"),
    ({**continuum_spec(), "params": {"metric": "feature"}}, "discriminator"),
    ({**continuum_spec(), "adjust": {"size": 3}}, "--size"),
    ({**continuum_spec(), "adjust": {"match": "luminance"}}, "--greyscale"),
    ({"kind": "grid", "sources": ["images/face_00001.png"]}, "3 or 4 source images"),
    ({"kind": "morph"}, "kind"),
    ({"kind": "attribute", "sources": ["images/face_00001.png"], "params": {"axis": "smile"}}, "axis"),
])
def test_a_bad_view_gets_one_line_naming_the_field(client, spec, words):
    response = client.post("/api/steps", json={"spec": spec}, headers=headers())
    assert response.status_code == 400
    assert words in one_line_error(response)


def test_an_attribute_export_refuses_low_level_options_its_command_lacks(client):
    spec = {"kind": "attribute", "sources": ["images/face_00001.png"], "params": {"axis": "brightness"},
            "adjust": {"greyscale": True}}
    response = client.post("/api/export", json={"spec": spec, "out": "attr"}, headers=headers())
    assert response.status_code == 400 and "low-level" in one_line_error(response)


# ------------------------------------------------------------------------------------------
# the command


def test_a_missing_extra_is_one_line_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(main, ["explore", "--no-browser"])
    assert result.exit_code == 1
    assert "pip install 'gaia-stim[explore]'" in result.output and "Traceback" not in result.output


def test_the_command_serves_on_127_0_0_1_with_a_token(tmp_path):
    """The real command, in its own process: it prints the address; the token opens it, nothing else does."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DISPLAY": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gaia_stim", "explore", "--no-browser", "--images", FACES, "--out-root", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if "serving" in line:
                url = line.split()[-1]
        assert url and url.startswith("http://127.0.0.1:") and "?token=" in url
        token = url.split("?token=")[1]
        assert len(token) >= 40
        base = url.split("?")[0]
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200 and b"gaia-stim explore" in response.read()
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "api/state", timeout=5)
        assert refused.value.code == 403
        request = urllib.request.Request(base + "api/images", headers={TOKEN_HEADER: token})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert "images/face_00005.png" in json.loads(response.read())["images"]
    finally:
        process.terminate()
        process.wait(20)


def test_the_server_socket_lets_asyncio_switch_off_nagle():
    """A socket that does not name IPPROTO_TCP gets no TCP_NODELAY from asyncio: every frame then waits 40 ms."""
    import socket

    from gaia_stim.explore.server import _bound_socket

    sock = _bound_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[0] == "127.0.0.1"
        with pytest.raises(explore_files.InputError, match="--port"):
            _bound_socket("127.0.0.1", sock.getsockname()[1])  # taken: one line naming the option
    finally:
        sock.close()


def test_the_latency_benchmark_runs(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("explore_latency", os.path.join(ROOT, "benchmarks", "explore_latency.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--moves", "5"])
    printed = capsys.readouterr().out
    assert "round trip" in printed and "threads" in printed and "load average" in printed
