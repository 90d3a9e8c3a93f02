"""The canvas a GIF's first frame leaves bare is transparent, as browsers show it.

Why: a GIF's first frame may cover only part of its logical screen (a tool that crops to what changed,
an editor's "optimise" pass). Chromium and Firefox show the rest as transparent; Pillow fills it with
palette index 0, whatever colour that is, so the model saw a frame of some colour around the picture
where the user saw none (on our white, as every transparent pixel is composited). A GIF with a
transparent index is already right: Pillow fills the canvas with that index.

The size Pillow opens a GIF at, its screen grown to hold the first frame's rectangle, is read here from
the bytes before it is opened (``opened_size``): opening allocates that rectangle.
"""

from __future__ import annotations

import re
import struct

from PIL import Image

Extent = tuple[int, int, int, int]

_SCREEN = struct.Struct("<HH")
_DESCRIPTOR = struct.Struct("<HHHH")  # left, top, width, height
_EXTENSION, _IMAGE, _TRAILER = 0x21, 0x2C, 0x3B
_BLOCK_START = re.compile(rb"[!,;]")  # Pillow passes over any other byte between blocks, one by one


def opened_size(data: bytes) -> tuple[int, int] | None:
    """The size Pillow opens the GIF ``data`` at: its logical screen, grown to hold the first frame's
    rectangle; None when no first frame is found (Pillow refuses the file).

    Why: opening a GIF, Pillow fills a buffer of the first frame's rectangle when the frame is to be
    disposed of (method 2, or 3 with a transparent index), and its own bomb check is off
    (``decode.py`` checks the size itself, after the open). A 1 KB GIF declaring a 65535x65535 frame
    took 4.3 GB before it was refused for its size. The walk mirrors Pillow's over the blocks before
    the first frame, quirks included, so that both find the same one.
    """
    if len(data) < 13:
        return None
    width, height = _SCREEN.unpack_from(data, 6)
    flags = data[10]
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global colour table
    while (found := _BLOCK_START.search(data, at)) is not None:
        at = found.start()
        if data[at] == _TRAILER or at + 1 >= len(data):
            return None
        if data[at] == _IMAGE:
            if at + 1 + _DESCRIPTOR.size > len(data):
                return None
            x, y, w, h = _DESCRIPTOR.unpack_from(data, at + 1)
            return max(width, x + w), max(height, y + h)
        at = _after_extension(data, at)
    return None


def _sub_block(data: bytes, at: int) -> tuple[bytes | None, int]:
    """(data, where the next one starts) of the sub-block at ``at``; None for the empty one that ends
    a run, or past the end: what Pillow's ``GifImageFile.data`` reads."""
    size = data[at] if at < len(data) else 0
    if not size:
        return None, min(at + 1, len(data))
    return data[at + 1 : at + 1 + size], at + 1 + size


def _after_extension(data: bytes, at: int) -> int:
    """Where the block after the extension at ``at`` starts, as Pillow reads it: a comment's sub-blocks
    end at the first empty one; any other extension's first sub-block (the NETSCAPE one's first two)
    is read even when it is that empty one, and then sub-blocks up to an empty one."""
    label = data[at + 1]
    block, at = _sub_block(data, at + 2)
    if label == 0xFE:  # comment
        while block:
            block, at = _sub_block(data, at)
        return at
    if label == 0xFF and block is not None and block.startswith(b"NETSCAPE2.0"):
        block, at = _sub_block(data, at)
    block, at = _sub_block(data, at)
    while block:
        block, at = _sub_block(data, at)
    return at


def bare_canvas_extent(image: Image.Image) -> Extent | None:
    """The rectangle a GIF's first frame covers, when it leaves part of the canvas bare that Pillow
    fills with an opaque colour; None for any other image. Read before ``load`` (it uses the tile)."""
    tile = getattr(image, "tile", None)  # an opened file's, not a plain Image's
    if image.format != "GIF" or not tile or "transparency" in image.info or image.mode not in ("P", "L"):
        return None
    x0, y0, x1, y1 = tile[0][1]  # (codec, extents, offset, args)
    width, height = image.size
    extent = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))
    return None if extent == (0, 0, width, height) else extent


def with_bare_canvas_transparent(image: Image.Image, extent: Extent) -> Image.Image:
    """``image`` (loaded) as RGBA, transparent outside ``extent``; its metadata kept (ICC profile)."""
    rgba = image.convert("RGBA")
    alpha = Image.new("L", image.size, 0)
    alpha.paste(255, extent)
    rgba.putalpha(alpha)
    return rgba
