"""The one image tiler: the trainer's sample sheets and the stimulus sets' labelled contact sheets.

:func:`tile_images` lays images out in rows, optionally labelled, titled and framed;
:func:`tile_grid` tiles a (rows, columns) grid of float images. The trainer's sample sheets
(:mod:`gaia_stim.model.sample_sheets`) and the contact sheets of stimulus sets
(:mod:`gaia_stim.io.sheets`) are both built on it.
"""

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["tile_images", "tile_grid"]


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _fit_text(draw, text, font, width):
    """``text`` on one line (control characters, such as a newline in a file name, shown as "?"),
    shortened with an ellipsis until it fits ``width`` pixels."""
    text = "".join(character if character.isprintable() else "?" for character in str(text))
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def tile_images(images, columns, *, gap=2, margin=None, min_tile=64, background=255, labels=None, title=None,
                outline=None, mode=None):
    """Lay ``images`` out in rows of ``columns`` tiles; returns a PIL image.

    Parameters
    ----------
    images : ndarray of shape (N, H, W, C), uint8, C in {1, 3}
    columns : int
        Tiles per row.
    gap, margin : int
        Pixels between tiles, and around them (``margin`` defaults to ``gap``).
    min_tile : int
        Tiles smaller than this are enlarged by whole-pixel repetition (nearest neighbour), so what
        is shown is what the network produced.
    labels : list of str, optional
        A line of text under each tile.
    title : str, optional
        A line above the tiles.
    outline : tuple, optional
        Colour of a one-pixel frame around each tile.
    mode : {"L", "RGB"}, optional
        Default: ``"L"`` for one-channel images without text, else ``"RGB"``.
    """
    images = np.asarray(images)
    count, height, width, channels = images.shape
    columns = max(1, min(int(columns), count))
    rows = math.ceil(count / columns)
    margin = gap if margin is None else margin
    scale = max(1, math.ceil(min_tile / max(height, width)))
    tile_w, tile_h = width * scale, height * scale
    label_font, title_font = _font(14), _font(15)
    label_h = 22 if labels is not None else 0
    title_h = 26 if title else 0
    if mode is None:
        mode = "L" if channels == 1 and labels is None and title is None and outline is None else "RGB"
    sheet_w = 2 * margin + columns * tile_w + (columns - 1) * gap
    sheet_h = 2 * margin + title_h + rows * (tile_h + label_h) + (rows - 1) * gap
    fill = background if mode == "L" else (background,) * 3
    sheet = Image.new(mode, (sheet_w, sheet_h), fill)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((margin, margin), _fit_text(draw, title, title_font, sheet_w - 2 * margin), fill=(0, 0, 0),
                  font=title_font)
    for index in range(count):
        row, column = divmod(index, columns)
        left = margin + column * (tile_w + gap)
        top = margin + title_h + row * (tile_h + label_h + gap)
        pixels = np.ascontiguousarray(images[index])
        tile = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).convert(mode)
        if scale > 1:
            tile = tile.resize((tile_w, tile_h), Image.Resampling.NEAREST)
        sheet.paste(tile, (left, top))
        if outline is not None:
            draw.rectangle((left - 1, top - 1, left + tile_w, top + tile_h), outline=outline)
        if labels is not None:
            label = _fit_text(draw, labels[index], label_font, tile_w + gap)
            text_w = draw.textlength(label, font=label_font)
            draw.text((left + (tile_w - text_w) / 2, top + tile_h + 3), label, fill=(0, 0, 0), font=label_font)
    return sheet


def tile_grid(grid, gap=2, background=1.0, min_tile=64):
    """(rows, cols, S, S, C) float in [0, 1] -> one uint8 image with ``gap`` pixels between tiles."""
    grid = np.asarray(grid, dtype=np.float32)
    rows, cols = grid.shape[:2]
    tiles = np.round(np.clip(grid.reshape(rows * cols, *grid.shape[2:]), 0, 1) * 255).astype(np.uint8)
    sheet = tile_images(tiles, cols, gap=gap, min_tile=min_tile, background=int(round(background * 255)))
    return np.asarray(sheet)
