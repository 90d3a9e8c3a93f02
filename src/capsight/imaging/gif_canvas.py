"""The canvas a GIF's first frame leaves bare is transparent, as browsers show it.

Why: a GIF's first frame may cover only part of its logical screen (a tool that crops to what changed,
an editor's "optimise" pass). Chromium and Firefox show the rest as transparent; Pillow fills it with
palette index 0, whatever colour that is, so the model saw a frame of some colour around the picture
where the user saw none (on our white, as every transparent pixel is composited). A GIF with a
transparent index is already right: Pillow fills the canvas with that index.
"""

from __future__ import annotations

from PIL import Image

Extent = tuple[int, int, int, int]


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
