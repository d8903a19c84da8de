"""gaia-stim explore in a real browser: Debian's chromium, driven by Playwright.

The server runs in this process (uvicorn in a thread) with the shipped model; the page is loaded
with its token, images are picked by clicking, the slider is moved, and what the page shows is
compared byte for byte with a decode done here. Playwright never downloads a browser: it launches
the system's ``chromium`` (``apt-get install chromium``). Without one the tests are skipped,
unless ``GAIA_STIM_REQUIRE_BROWSER=1`` (CI sets it), which turns the skip into a failure.

``GAIA_STIM_SCREENSHOTS=docs/images`` also saves a screenshot of each view there
(``explore_continuum.png``, ``explore_pad.png``, ``explore_wheel.png``, ``explore_axes.png``), with
attribute axes fitted on synthetic faces so the axes view shows face attributes.
"""

import io
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(ROOT, "examples", "faces")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("GAIA_STIM_REQUIRE_BROWSER", "") not in ("", "0")
SCREENSHOTS = os.environ.get("GAIA_STIM_SCREENSHOTS")

if CHROMIUM is None and not REQUIRED:
    pytest.skip("chromium is not installed (apt-get install chromium); GAIA_STIM_REQUIRE_BROWSER=1 makes this a"
                " failure", allow_module_level=True)

sys.path.insert(0, os.path.dirname(__file__))
from conftest import hand_made_axes  # noqa: E402

WAIT_S = 60


def wait_until(page, script, timeout=WAIT_S):
    """Poll ``script`` (a JS function) in the page until it returns something truthy; return it.

    (Playwright's wait_for_function evaluates strings, which the page's Content-Security-Policy forbids.)
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        page.wait_for_timeout(50)
    message = page.evaluate("() => document.querySelector('#message').textContent")
    raise AssertionError(f"timed out waiting for {script}; the page says: {message!r}")


# the frame as displayed: drawn on a canvas at its own size and read back (one evaluation, so the
# pixels and the position they were decoded at belong together)
READ_FRAME = """() => {
  const frame = document.querySelector('#frame');
  if (!frame.dataset.position || !frame.complete || !frame.naturalWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = frame.naturalWidth;
  canvas.height = frame.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(frame, 0, 0);
  return {kind: frame.dataset.kind, position: frame.dataset.position, width: canvas.width, height: canvas.height,
          rgba: Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data)};
}"""


def shown_frame(page, kind, check=lambda position: True):
    """The RGB pixels the page shows once its frame is ``kind`` at a position passing ``check``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = page.evaluate(READ_FRAME)
        if state and state["kind"] == kind and check(json.loads(state["position"])):
            rgba = np.asarray(state["rgba"], dtype=np.uint8).reshape(state["height"], state["width"], 4)
            assert (rgba[..., 3] == 255).all()
            return rgba[..., :3], json.loads(state["position"])
        page.wait_for_timeout(50)
    message = page.evaluate("() => document.querySelector('#message').textContent")
    raise AssertionError(f"the page never showed a {kind} frame; it says {message!r}")


def pick(page, *names):
    for name in names:
        page.click(f"#thumbnails figure[data-image='images/{name}']")


def screenshot(page, view):
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"explore_{view}.png"), full_page=True)


# ------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def model():
    import torch

    import gaia_stim

    torch.set_num_threads(1)
    return gaia_stim.load_model("default")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("explore")
    images = base / "images"
    images.mkdir()
    for name in sorted(os.listdir(FACES)):
        if name.endswith(".png"):
            shutil.copy(os.path.join(FACES, name), images / name)
    (base / "secret.png").write_bytes((images / "face_00000.png").read_bytes())
    os.symlink(base / "secret.png", images / "link_out.png")
    out = base / "out"
    out.mkdir()
    return {"base": base, "images": images, "out": out}


@pytest.fixture(scope="module")
def axes_file(model, folders):
    """Hand-made axes (fast); for screenshots, axes fitted on 200 synthetic faces (what a user would see)."""
    from gaia_stim.stimuli.axes import AttributeAxes, calibrate_axes, save_axes

    path = folders["base"] / "axes.npz"
    if SCREENSHOTS:
        from gaia_stim.datasets import make_faces

        faces = make_faces(200, size=model.image_size, seed=3)
        names = ["head_width", "hair_length", "hair_darkness", "skin_tone", "eye_height", "mouth_width"]
        codes = model.encode(faces["images"])
        axes = calibrate_axes(AttributeAxes().fit(codes, faces["parameters"][names]), model, codes)
    else:
        axes = hand_made_axes(model.latent_dim)
    save_axes(axes, path, model.file_sha256)
    return str(path)


@pytest.fixture(scope="module")
def server(model, folders, axes_file):
    pytest.importorskip("uvicorn")
    from gaia_stim.explore.server import running_server
    from gaia_stim.explore.state import ExploreSession
    from gaia_stim.stimuli.axes import load_axes

    session = ExploreSession(model, images_dir=str(folders["images"]), axes=load_axes(axes_file, model.file_sha256),
                             axes_path=axes_file, out_root=str(folders["out"]), export_threads=1)
    with running_server(session) as url:
        yield {"url": url, "session": session, "token": url.split("?token=")[1], "base": url.split("?")[0]}


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("GAIA_STIM_REQUIRE_BROWSER is set but chromium is not installed: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]' (never 'playwright install': the test"
                    " uses the system's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(server["url"])
    opened.wait_for_selector("#thumbnails figure")
    yield opened
    context.close()
    assert errors == [], errors  # no script error, no Content-Security-Policy violation


def codes_of(model, *names):
    """The sources' codes as the kinds compute them (prepared, encoded together)."""
    from gaia_stim.stimuli._common import encode_sources, prepare_sources

    paths = [os.path.join(FACES, name) for name in names]
    return encode_sources(model, prepare_sources(model, paths, len(paths), "a test"))


def decoded(model, latent):
    from gaia_stim.io.images import to_uint8

    return to_uint8(model.decode(np.asarray(latent, dtype=np.float32)[None]))[0]


# ------------------------------------------------------------------------------------------
# tests


def test_the_slider_shows_the_image_decoded_at_its_level(page, model):
    pick(page, "face_00005.png", "face_00006.png")
    before, _ = shown_frame(page, "continuum")
    page.fill("#level", "0.3")
    shown, position = shown_frame(page, "continuum", lambda position: position["level"] == 0.3)
    codes = codes_of(model, "face_00005.png", "face_00006.png")
    expected = decoded(model, (1 - 0.3) * codes[0] + 0.3 * codes[1])
    np.testing.assert_array_equal(shown, expected)
    assert not np.array_equal(shown, before)  # the displayed image changed with the slider
    # the sources beside their reconstructions, with the reconstruction's SSIM
    assert page.locator(".slot .pair img").count() == 4
    assert "reconstruction SSIM 0." in page.inner_text("#slots")
    # forty moves at once: one request in flight at a time, and the page ends at the last position
    frames = {"now": 0, "most": 0, "sent": 0}

    def sent(request):
        if request.url.endswith("/api/frame"):
            frames.update(now=frames["now"] + 1, sent=frames["sent"] + 1)
            frames["most"] = max(frames["most"], frames["now"])

    def done(request):
        if request.url.endswith("/api/frame"):
            frames["now"] -= 1

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    page.evaluate("() => { const slider = document.querySelector('#level');"
                  " for (let i = 1; i <= 40; i++) { slider.value = String(i / 100);"
                  " slider.dispatchEvent(new Event('input')); } }")
    shown_frame(page, "continuum", lambda position: position["level"] == 0.4)
    assert frames["most"] == 1 and 1 <= frames["sent"] <= 3, frames
    wait_until(page, "() => document.querySelectorAll('#steps img').length === 11")
    page.fill("#level", "0.3")
    shown_frame(page, "continuum", lambda position: position["level"] == 0.3)
    readout = page.inner_text("#level-readout")
    assert "morph level 0.300" in readout and "step distance (pixel)" in readout
    screenshot(page, "continuum")


def test_an_export_from_the_page_is_an_intact_set_and_its_command_is_shown(page, server, folders):
    from gaia_stim.cli import main

    pick(page, "face_00001.png", "face_00003.png")
    shown_frame(page, "continuum")
    page.fill("#params [name=n_steps]", "5")
    page.select_option("#params [name=spacing]", "equal")
    wait_until(page, "() => document.querySelectorAll('#steps img').length === 5"
                     " && document.querySelector('#steps-status').textContent === ''")
    page.fill("#out", "sets/from_the_page")
    page.click("#export")
    wait_until(page, "() => !document.querySelector('#export-result').hidden")
    assert "intact" in page.inner_text("#export-summary")
    command = page.input_value("#command")
    folder = folders["out"] / "sets" / "from_the_page"
    assert command.startswith("gaia-stim --threads 1 continuum --from ") and "--spacing equal" in command
    assert command.endswith(f"--out {folder}")
    result = CliRunner().invoke(main, ["verify", str(folder), "--regenerate"])
    assert result.exit_code == 0 and "intact and regenerated byte for byte" in result.output, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"]["spacing"] == "equal" and len(manifest["images"]) == 5


def test_the_pad_wheel_and_axes_views_show_their_frames(page, model):
    # the pad: a grid plane through three images
    page.click("#tabs button[data-view=grid]")
    pick(page, "face_00001.png", "face_00002.png", "face_00003.png")
    shown_frame(page, "grid")
    box = page.locator("#pad").bounding_box()
    page.mouse.click(box["x"] + 0.7 * box["width"], box["y"] + 0.2 * box["height"])
    shown, position = shown_frame(page, "grid", lambda position: position["u"] == 0.7)
    codes = codes_of(model, "face_00001.png", "face_00002.png", "face_00003.png")
    u, v = position["u"], position["v"]
    np.testing.assert_array_equal(shown, decoded(model, codes[0] + u * (codes[1] - codes[0]) + v * (codes[2] - codes[0])))
    wait_until(page, "() => document.querySelectorAll('#pad .dot').length === 25")
    screenshot(page, "pad")

    # the wheel: images on a circle around a centre
    page.click("#tabs button[data-view=wheel]")
    pick(page, "face_00004.png", "face_00001.png", "face_00007.png")
    first, _ = shown_frame(page, "wheel")
    box = page.locator("#wheel").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 0.1 * box["height"])  # the top: 90 degrees
    turned, position = shown_frame(page, "wheel", lambda position: abs(position["angle"] - np.pi / 2) < 0.1)
    assert not np.array_equal(first, turned)
    wait_until(page, "() => document.querySelectorAll('#wheel-dots circle').length === 12")
    assert "angle 9" in page.inner_text("#wheel-readout")
    screenshot(page, "wheel")

    # the axes: one slider per attribute, hold switches, the live leakage
    page.click("#tabs button[data-view=attribute]")
    pick(page, "face_00002.png")
    shown_frame(page, "attribute")
    names = page.eval_on_selector_all("#axes-table tbody tr", "rows => rows.map(row => row.dataset.axis)")
    assert len(names) >= 2
    page.locator(f"#axes-table tr[data-axis={names[1]}] .hold").check()
    slider = page.locator(f"#axes-table tr[data-axis={names[0]}] .amount")
    reach = float(slider.get_attribute("max"))
    slider.fill(str(round(reach / 2, 4)))
    shown_frame(page, "attribute", lambda position: position["amounts"].get(names[0], 0) != 0)
    wait_until(page, f"() => document.querySelectorAll('#leakage-live .bar').length === {len(names)}")
    wait_until(page, "() => document.querySelector('#leakage-steps table') !== null"
                     " && document.querySelector('#steps-status').textContent === ''")
    screenshot(page, "axes")


def test_requests_without_the_token_and_paths_outside_the_folder_are_refused(page, server, browser):
    base, token = server["base"], server["token"]

    def status(path, token_header=True):
        request = urllib.request.Request(base + path, headers={"X-Gaia-Stim-Token": token} if token_header else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    for path in ("", "api/state", "api/images", "static/explore.js", "api/thumb?image=images/face_00001.png"):
        code, body = status(path, token_header=False)
        assert code == 403 and "token" in json.loads(body)["error"], path
    assert status("api/thumb?image=images/face_00001.png")[0] == 200
    for image, expected in [("images/../secret.png", 400), ("images/%2Fetc%2Fpasswd", 400),
                            ("images/" + urllib.request.quote(str(server["session"].images_dir)) + "/face_00001.png", 400),
                            ("images/link_out.png", 404)]:
        code, body = status("api/thumb?image=" + image)
        assert code == expected, image
        error = json.loads(body)["error"]
        assert error and "\n" not in error
    # the page's own cookie does not let it out of the folder either
    codes = page.evaluate("async () => Promise.all(['images/../secret.png', 'images/link_out.png'].map("
                          "async (image) => (await fetch('/api/thumb?image=' + encodeURIComponent(image))).status))")
    assert codes == [400, 404]
    # a browser without the token gets no page
    stranger = browser.new_context()
    try:
        response = stranger.new_page().goto(base)
        assert response.status == 403
    finally:
        stranger.close()
