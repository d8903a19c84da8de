"""Every image file a user can hand over is read correctly or refused with one error naming it.

Expected pixels are derived from the colour each file was made with (and the standard
conversions: 16-bit / 65535, premultiplied alpha over white = C + 1 - alpha, EXIF orientation 6 =
a clockwise quarter turn), never copied from the code's output.
"""

import io
import os
import struct
import warnings
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageFile, PngImagePlugin

from gaia_stim.cli import main
from gaia_stim.core.errors import DataError, InputError
from gaia_stim.core.images import MAX_IMAGE_PIXELS, load_image, prepare_image
from gaia_stim.model.data import load_image_folder

SIZE = 8  # files are made at the model size, so pixels pass through without resampling


def png_bytes(width, height, bit_depth, colour_type, rows=b"", idat=None):
    """A PNG written by hand: any header (also one Pillow would refuse to write), raw rows or IDAT."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = zlib.compress(rows) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def png16(samples, colour_type):
    """A 16-bit PNG of ``samples`` (H, W, channels) given as integers 0..65535."""
    samples = np.asarray(samples, dtype=">u2")
    height, width = samples.shape[:2]
    rows = b"".join(b"\x00" + samples[row].tobytes() for row in range(height))  # filter 0 per row
    return png_bytes(width, height, 16, colour_type, rows)


def bomb_png(width, height):
    """A 1-bit grey PNG of width x height whose zero rows deflate ~1000:1 (written chunk by chunk)."""
    compressor, row = zlib.compressobj(9), b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return png_bytes(width, height, 1, 0, idat=idat)


def uniform(colour):
    return np.broadcast_to(np.asarray(colour, np.float32), (SIZE, SIZE, 3))


def saved(image, format, **options):
    def write(path):
        image.save(path, format=format, **options)

    return write


def palette_image(mode="P", transparent_right_half=False):
    image = Image.new(mode, (SIZE, SIZE), 1 if mode == "P" else (1, 128))
    image.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    if transparent_right_half:
        image.paste(0, (SIZE // 2, 0, SIZE, SIZE))
        image.info["transparency"] = 0
    return image


HALF = 128 / 255
COLOUR = (200 / 255, 100 / 255, 50 / 255)  # the palette's and the RGB files' colour
OVER_WHITE = tuple(value * HALF + 1 - HALF for value in COLOUR)  # that colour at alpha 128, over white
LEFT_COLOUR_RIGHT_WHITE = np.concatenate([uniform(COLOUR)[:, :4], uniform(1.0)[:, 4:]], 1)
LEFT_WHITE_RIGHT_COLOUR = LEFT_COLOUR_RIGHT_WHITE[:, ::-1]


def half_keyed(mode, key, colour):
    """Left half the colour key (transparent once read), right half ``colour``."""
    image = Image.new(mode, (SIZE, SIZE), key)
    image.paste(colour, (SIZE // 2, 0, SIZE, SIZE))
    return image

# id, suffix, how the file is written, expected (SIZE, SIZE, 3) pixels, tolerance
FILE_MODES = [
    ("1", "png", saved(Image.new("1", (SIZE, SIZE), 1), "PNG"), uniform(1.0), 0),
    ("L", "png", saved(Image.new("L", (SIZE, SIZE), 128), "PNG"), uniform(HALF), 1e-6),
    ("LA half alpha", "png", saved(Image.new("LA", (SIZE, SIZE), (0, 128)), "PNG"), uniform(1 - HALF), 1e-6),
    ("P", "png", saved(palette_image(), "PNG"), uniform(COLOUR), 1e-6),
    ("P transparency", "png", saved(palette_image(transparent_right_half=True), "PNG", transparency=0),
     LEFT_COLOUR_RIGHT_WHITE, 1e-6),
    ("RGB colour key", "png", saved(half_keyed("RGB", (10, 20, 30), (200, 100, 50)), "PNG", transparency=(10, 20, 30)),
     LEFT_WHITE_RIGHT_COLOUR, 1e-6),
    ("L colour key", "png", saved(half_keyed("L", 10, 200), "PNG", transparency=10),
     np.concatenate([uniform(1.0)[:, :4], uniform(200 / 255)[:, 4:]], 1), 1e-6),
    ("P gif", "gif", saved(palette_image(), "GIF"), uniform(COLOUR), 1e-6),
    ("PA tiff", "tiff", saved(palette_image("PA"), "TIFF"),
     uniform(OVER_WHITE), 1e-6),
    ("RGB", "png", saved(Image.new("RGB", (SIZE, SIZE), (200, 100, 50)), "PNG"), uniform(COLOUR), 1e-6),
    ("RGBA half alpha", "png", saved(Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 128)), "PNG"), uniform(1 - HALF), 1e-6),
    ("RGBX tiff", "tiff", saved(Image.new("RGBX", (SIZE, SIZE), (200, 100, 50, 0)), "TIFF"),
     uniform(COLOUR), 1e-6),  # X is padding, not alpha: not white
    ("CMYK tiff", "tiff", saved(Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0)), "TIFF"), uniform((1, 0, 0)), 1e-6),
    ("CMYK jpeg", "jpg", saved(Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0)), "JPEG", quality=95),
     uniform((1, 0, 0)), 0.06),
    ("LAB tiff white", "tiff", saved(Image.new("LAB", (SIZE, SIZE), (255, 128, 128)), "TIFF"), uniform(1.0), 2 / 255),
    ("I;16 png", "png", saved(Image.new("I;16", (SIZE, SIZE), 1000), "PNG"), uniform(1000 / 65535), 1e-6),
    ("I;16 tiff", "tiff", saved(Image.new("I;16", (SIZE, SIZE), 40000), "TIFF"), uniform(40000 / 65535), 1e-6),
    ("F tiff in [0, 1]", "tiff", saved(Image.new("F", (SIZE, SIZE), 0.25), "TIFF"), uniform(0.25), 1e-6),
    ("16-bit grey png", "png", lambda p: p.write_bytes(png16(np.full((SIZE, SIZE, 1), 1000), 0)),
     uniform(1000 / 65535), 1e-6),
    ("16-bit RGB png", "png",  # Pillow reads 16-bit colour at 8 bits: within 1/255 of v / 65535
     lambda p: p.write_bytes(png16(np.broadcast_to([65535, 32896, 1000], (SIZE, SIZE, 3)), 2)),
     uniform((1.0, 32896 / 65535, 1000 / 65535)), 1 / 255),
    ("16-bit RGBA png", "png",
     lambda p: p.write_bytes(png16(np.broadcast_to([0, 0, 0, 32896], (SIZE, SIZE, 4)), 6)),
     uniform(1 - 32896 / 65535), 1 / 255),
    ("16-bit grey+alpha png", "png",
     lambda p: p.write_bytes(png16(np.broadcast_to([20000, 65535], (SIZE, SIZE, 2)), 4)),
     uniform(20000 / 65535), 1 / 255),
]


@pytest.mark.parametrize("case", FILE_MODES, ids=[case[0] for case in FILE_MODES])
def test_every_file_mode_gives_the_right_pixels(tmp_path, case):
    name, suffix, write, expected, tolerance = case
    path = tmp_path / f"image.{suffix}"
    write(path)
    prepared = load_image(path, SIZE, 3)
    assert prepared.pixels.shape == (SIZE, SIZE, 3) and prepared.pixels.dtype == np.float32
    np.testing.assert_allclose(prepared.pixels, expected, atol=tolerance, rtol=0)


def test_16_bit_grey_is_scaled_by_65535_at_full_precision(tmp_path):
    # Every value from 0 to 65535 in steps of 257*3: a 255 divisor, or a cut to 8 bits, misses them.
    values = np.arange(0, 65536, 771, dtype=np.int64)[:64].reshape(SIZE, SIZE, 1)
    (tmp_path / "ramp16.png").write_bytes(png16(values + 3, 0))
    pixels = load_image(tmp_path / "ramp16.png", SIZE, 1).pixels
    np.testing.assert_allclose(pixels, (values + 3) / 65535, atol=1e-7, rtol=0)


def test_16_bit_colour_read_at_8_bits_is_reported(tmp_path):
    (tmp_path / "rgb16.png").write_bytes(png16(np.full((SIZE, SIZE, 3), 32896), 2))
    changes = load_image(tmp_path / "rgb16.png", SIZE, 3).changes
    assert any("16-bit samples read at 8 bits" in change for change in changes)


def test_16_bit_png_opened_as_mode_I_by_older_pillow(tmp_path, monkeypatch):
    # Pillow < 10 opened 16-bit grey PNGs as mode "I": the same file must give the same pixels.
    (tmp_path / "grey16.png").write_bytes(png16(np.full((SIZE, SIZE, 1), 50000), 0))
    monkeypatch.setitem(PngImagePlugin._MODES, (16, 0), ("I", "I;16B"))
    with Image.open(tmp_path / "grey16.png") as image:
        assert image.mode == "I"  # the simulation took
    np.testing.assert_allclose(load_image(tmp_path / "grey16.png", SIZE, 1).pixels, 50000 / 65535, atol=1e-7)


IN_MEMORY_MODES = [  # modes no file format here writes; Pillow images go through prepare_image
    ("La", Image.new("La", (SIZE, SIZE), (64, 128)), uniform(64 / 255 + 1 - HALF), 1 / 255),
    ("RGBa", Image.new("RGBa", (SIZE, SIZE), (100, 50, 0, 128)),
     uniform((100 / 255 + 1 - HALF, 50 / 255 + 1 - HALF, 1 - HALF)), 1 / 255),
    ("RGBX", Image.new("RGBX", (SIZE, SIZE), (200, 100, 50, 0)), uniform(COLOUR), 1e-6),
    ("YCbCr", Image.new("YCbCr", (SIZE, SIZE), (76, 85, 255)), uniform((1, 0, 0)), 2 / 255),
    ("HSV", Image.new("HSV", (SIZE, SIZE), (0, 255, 255)), uniform((1, 0, 0)), 1e-6),
    ("P", palette_image(), uniform(COLOUR), 1e-6),
    ("PA", palette_image("PA"), uniform(OVER_WHITE), 1e-6),
    ("CMYK", Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0)), uniform((1, 0, 0)), 1e-6),
    ("I;16B", Image.new("I;16B", (SIZE, SIZE), 1000), uniform(1000 / 65535), 1e-6),
]


@pytest.mark.parametrize("case", IN_MEMORY_MODES, ids=[case[0] for case in IN_MEMORY_MODES])
def test_every_pillow_mode_in_memory(case):
    name, image, expected, tolerance = case
    np.testing.assert_allclose(prepare_image(image, SIZE, 3).pixels, expected, atol=tolerance, rtol=0)


@pytest.mark.parametrize("format, suffix", [("GIF", "gif"), ("PNG", "png"), ("TIFF", "tiff")])
def test_multi_frame_files_use_the_first_frame_and_say_so(tmp_path, format, suffix):
    frames = [Image.new("RGB", (SIZE, SIZE), colour) for colour in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    path = tmp_path / f"frames.{suffix}"
    frames[0].save(path, format=format, save_all=True, append_images=frames[1:])
    prepared = load_image(path, SIZE, 3)
    np.testing.assert_allclose(prepared.pixels, uniform((1, 0, 0)), atol=1e-6)
    assert "used the first of 3 frames (animated or multi-page file)" in prepared.changes


@pytest.mark.parametrize("format", ["JPEG", "PNG"])
def test_exif_orientation_is_applied_and_reported(tmp_path, format):
    stored = np.zeros((SIZE, SIZE), np.uint8)
    stored[:4, :4] = 255  # white top-left quadrant, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF: display after a clockwise quarter turn
    path = tmp_path / f"phone.{format.lower()}"
    options = {"quality": 100} if format == "JPEG" else {}
    Image.fromarray(stored).save(path, format=format, exif=exif.tobytes(), **options)
    prepared = load_image(path, SIZE, 1)
    upright = np.rot90(stored, k=-1) / 255.0  # the white quadrant moves to the top right
    assert np.abs(prepared.pixels[..., 0] - upright).max() < 0.1
    assert "rotated as its EXIF orientation says (orientation 6)" in prepared.changes


def test_smaller_image_is_enlarged_and_reported(tmp_path):
    Image.new("L", (16, 16), 100).save(tmp_path / "small.png")
    prepared = load_image(tmp_path / "small.png", 64, 1)
    assert prepared.pixels.shape == (64, 64, 1)
    np.testing.assert_allclose(prepared.pixels, 100 / 255, atol=1e-5)
    assert "enlarged 16x16 to 64x64 (smaller than the model's size)" in prepared.changes


def _truncated_png(path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _image(mode, colour, format="PNG", size=(SIZE, SIZE), **options):
    return lambda path: Image.new(mode, size, colour).save(path, format=format, **options)


# id, file name, how it is made, fragments the message must hold (besides the file's name)
BAD_FILES = [
    ("missing", "missing.png", lambda path: None, ["does not exist"]),
    ("folder", "folder.png", lambda path: path.mkdir(), ["is a folder", "give an image file"]),
    ("pipe", "pipe.png", lambda path: os.mkfifo(path), ["not a regular file", "give an image file"]),
    ("empty", "empty.png", lambda path: path.write_bytes(b""), ["empty (0 bytes)", "copy it again"]),
    ("not an image", "notes.png", lambda path: path.write_text("hello"), ["not an image", "convert it to PNG"]),
    ("truncated", "cut.png", _truncated_png, ["truncated", "re-save it"]),
    ("header-only bomb", "bomb.png", lambda path: path.write_bytes(png_bytes(100_000, 100_000, 1, 0, idat=b"")),
     ["too large", "shrink it"]),
    ("deflate bomb", "bomb.png", lambda path: path.write_bytes(bomb_png(10_000, 9_000)),
     ["10000x9000", f"{MAX_IMAGE_PIXELS:,}", "shrink it"]),
    ("1 x 10000 strip", "strip.png", _image("L", 0, size=(10_000, 1)), ["10000x1", "squarer"]),
    ("fully transparent", "clear.png", _image("RGBA", (255, 0, 0, 0)), ["fully transparent", "convert to RGB"]),
    ("32-bit integer tiff", "counts.tiff", _image("I", 100, "TIFF"),
     ["32-bit or signed integer", "values from 100 to 100", "16-bit PNG"]),
    ("float tiff 0-255", "float255.tiff",
     lambda path: Image.fromarray(np.linspace(0, 255, 64, dtype=np.float32).reshape(8, 8)).save(path),
     ["[0, 1]", "values from 0 to 255", "divide by 255"]),
    ("float tiff NaN", "nan.tiff", _image("F", float("nan"), "TIFF"), ["NaN", "16-bit PNG"]),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_bad_files_are_one_error_naming_the_file_and_the_fix(tmp_path, case):
    name, file_name, make, fragments = case
    path = tmp_path / file_name
    make(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning (or other) slips out
        with pytest.raises(DataError) as raised:
            load_image(path, SIZE, 3)
    message = str(raised.value)
    assert file_name in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_the_size_limit_is_checked_before_decoding_even_with_pillows_check_off(tmp_path, monkeypatch):
    (tmp_path / "bomb.png").write_bytes(png_bytes(100_000, 100_000, 8, 0, idat=b""))
    (tmp_path / "bomb2.png").write_bytes(bomb_png(10_000, 9_000))
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or Image.Image.load(self))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # a program switched Pillow's guard off
    for name in ("bomb.png", "bomb2.png"):
        with pytest.raises(DataError, match=f"{name}.* pixels .*shrink it"):
            load_image(tmp_path / name, SIZE, 1)
    assert decoded == []


def test_a_bomb_in_a_training_folder_is_named(tmp_path):
    Image.new("L", (SIZE, SIZE), 10).save(tmp_path / "fine.png")
    (tmp_path / "bomb.png").write_bytes(bomb_png(10_000, 9_000))
    with pytest.raises(DataError, match="bomb.png"):
        load_image_folder(tmp_path, SIZE, 1)


def test_unreadable_file_names_it_and_the_fix(tmp_path, monkeypatch):
    # The tests run as root, where chmod 000 does not stop reading: make open() refuse instead.
    Image.new("L", (SIZE, SIZE)).save(tmp_path / "locked.png")

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(DataError, match=r"locked.png.*permission denied; check the file's permissions"):
        load_image(tmp_path / "locked.png", SIZE, 1)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_file_names_that_are_not_utf8_print_safely(tmp_path, as_bytes):
    raw = os.fsencode(tmp_path) + b"/caf\xe9-\xff.png"  # Latin-1 bytes: not valid UTF-8
    with open(raw, "wb") as handle:
        handle.write(b"not a png")
    with pytest.raises(DataError) as raised:
        load_image(raw if as_bytes else os.fsdecode(raw), SIZE, 1)
    message = str(raised.value)
    message.encode("utf-8")  # a lone surrogate in the message would raise here (and when printed)
    assert r"caf\udce9-\udcff.png" in message


@pytest.mark.filterwarnings("ignore:Tag data larger than file")  # Pillow notes the damage
def test_damaged_files_never_escape_as_other_errors(tmp_path):
    """Seeded byte flips and cuts of five formats: each read gives a valid image or a DataError."""
    rng = np.random.default_rng(1)
    picture = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    outcomes = {"read": 0, "refused": 0}
    for format in ("PNG", "JPEG", "GIF", "TIFF", "BMP"):
        buffer = io.BytesIO()
        picture.save(buffer, format=format)
        original = np.frombuffer(buffer.getvalue(), np.uint8)
        for trial in range(30):
            damaged = original.copy()
            where = rng.integers(0, len(damaged), 1 + trial % 4)
            damaged[where] = rng.integers(0, 256, len(where))
            if trial % 3 == 0:
                damaged = damaged[: rng.integers(1, len(damaged))]
            path = tmp_path / f"damaged_{trial}.{format.lower()}"
            path.write_bytes(damaged.tobytes())
            try:
                pixels = load_image(path, SIZE, 3).pixels
            except DataError as error:
                assert path.name in str(error)
                outcomes["refused"] += 1
            else:
                assert pixels.shape == (SIZE, SIZE, 3) and np.isfinite(pixels).all()
                assert pixels.min() >= 0 and pixels.max() <= 1
                outcomes["read"] += 1
    assert outcomes["refused"] > 20  # the damage was real


def test_in_memory_pillow_images_with_unknown_white_level_are_refused():
    with pytest.raises(InputError, match="32-bit or signed integer"):
        prepare_image(Image.new("I", (SIZE, SIZE), 5), SIZE, 1)
    with pytest.raises(InputError, match=r"\[0, 1\].*values from 3 to 3"):
        prepare_image(Image.new("F", (SIZE, SIZE), 3.0), SIZE, 1)


def test_cli_continuum_refuses_a_bomb_in_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path = type(tmp_path)
    Path("bomb.png").write_bytes(bomb_png(10_000, 9_000))
    Image.new("RGB", (64, 64), (120, 90, 60)).save("ok.png")
    result = CliRunner().invoke(main, ["continuum", "--from", "bomb.png", "--to", "ok.png", "--out", "X"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bomb.png" in lines[0] and "shrink it" in lines[0], result.output
    assert "Traceback" not in result.output and not Path("X").exists()
