"""Uploads real users send, built with Pillow at test time: the decoder tests check their pixels, the
API tests that each gets its documented answer (200, or a 400/413 with an ``{"error": ...}`` body).

Each builder takes the colour the picture should decode to, so an API test can check the label.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

Colour = tuple[int, int, int]
OTHER = (128, 128, 0)  # a colour no label uses, for the parts that must not count


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def progressive_jpeg(colour: Colour) -> bytes:
    return encode(Image.new("RGB", (640, 480), colour), "JPEG", progressive=True, quality=90)


def cmyk_jpeg(colour: Colour) -> bytes:
    """What print workflows (and some scanners) save; Adobe's inverted CMYK."""
    return encode(Image.new("RGB", (64, 48), colour).convert("CMYK"), "JPEG", quality=95)


def ycck_jpeg(colour: Colour) -> bytes:
    """Photoshop's CMYK JPEG: the CMY channels as YCbCr plus K, flagged by Adobe transform 2.

    Pillow cannot write one, so the four stored channels are computed here and the Adobe marker's
    transform byte is set: the decoder then runs YCCK -> CMYK, as on a real Photoshop file.
    """
    cmyk = Image.new("RGB", (1, 1), colour).convert("CMYK").getpixel((0, 0))
    assert isinstance(cmyk, tuple)
    # The decoder takes YCC -> RGB and then C = 255 - R, and the Adobe inversion undoes that: the YCC
    # stored is that of the (C, M, Y) wanted and K is stored inverted. Pillow writes CMYK inverted.
    ycc = Image.new("RGB", (1, 1), (cmyk[0], cmyk[1], cmyk[2])).convert("YCbCr").getpixel((0, 0))
    assert isinstance(ycc, tuple)
    stored = (255 - ycc[0], 255 - ycc[1], 255 - ycc[2], cmyk[3])
    data = bytearray(encode(Image.new("CMYK", (64, 48), stored), "JPEG", quality=100))
    adobe = data.find(b"\xff\xee")
    assert data[adobe + 4 : adobe + 9] == b"Adobe"
    data[adobe + 15] = 2  # transform: YCCK
    return bytes(data)


def mpo(colour: Colour) -> bytes:
    """A phone's multi-picture JPEG (3D / depth / preview): the first picture is the photo."""
    first, second = Image.new("RGB", (640, 480), colour), Image.new("RGB", (640, 480), OTHER)
    return encode(first, "MPO", save_all=True, append_images=[second], quality=90)


def palette_png_with_transparent_border(colour: Colour) -> bytes:
    """A logo-style palette PNG: index 0 is a black transparent border (tRNS), index 1 the colour."""
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 0, 0, *colour] + [0] * 762)
    image.paste(1, (8, 8, 56, 40))
    return encode(image, "PNG", transparency=0)


def grey_alpha_png(colour: Colour) -> bytes:
    """LA: a greyscale cut-out; its transparent part must become white, not black."""
    del colour
    return encode(Image.new("LA", (64, 48), (0, 0)), "PNG")


def sixteen_bit_png(colour: Colour) -> bytes:
    """16-bit RGB (scanners, editors): Pillow reads it as 8-bit RGB."""
    pixels = np.empty((48, 64, 3), dtype=">u2")
    pixels[:] = [c * 257 for c in colour]
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    return _png(64, 48, bit_depth=16, colour_type=2, idat=zlib.compress(rows))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, *, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    chunks = _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def animation(fmt: str) -> Callable[[Colour], bytes]:
    def build(colour: Colour) -> bytes:
        frames = [Image.new("RGB", (64, 48), colour), Image.new("RGB", (64, 48), OTHER)]
        return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)

    build.__name__ = f"animated_{fmt.lower()}"
    return build


def plain(fmt: str, size: tuple[int, int] = (64, 48)) -> Callable[[Colour], bytes]:
    def build(colour: Colour) -> bytes:
        return encode(Image.new("RGB", size, colour), fmt)

    build.__name__ = f"{fmt.lower()}_{size[0]}x{size[1]}"
    return build


def jpeg_with_orientation(value: int) -> Callable[[Colour], bytes]:
    """An EXIF orientation outside 1-8 (0 and 9 are written by some cameras and apps): ignored."""

    def build(colour: Colour) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = value
        return encode(Image.new("RGB", (64, 48), colour), "JPEG", exif=exif.tobytes())

    build.__name__ = f"jpeg_orientation_{value}"
    return build


def jpeg_zip_polyglot(colour: Colour) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.txt", "hello")
    return encode(Image.new("RGB", (64, 48), colour), "JPEG") + archive.getvalue()


def jpeg_without_end_marker(colour: Colour) -> bytes:
    """All of its data, but no end marker (cameras and scanners that write none)."""
    return encode(Image.new("RGB", (64, 48), colour), "JPEG")[:-2]


def png_with_broken_metadata(colour: Colour) -> bytes:
    """A text chunk whose CRC is wrong and an XMP that inflates past Pillow's 1 MB: metadata, left out."""
    png = encode(Image.new("RGB", (64, 48), colour), "PNG")
    text = _png_chunk(b"tEXt", b"Comment\x00edited")[:-4] + b"\xaa" * 4
    xmp = _png_chunk(b"zTXt", b"Raw profile type xmp\x00\x00" + zlib.compress(b"0" * 1_200_000))
    return png[:33] + text + xmp + png[33:]


# Decoded to ``colour`` (a 200 whose label is that colour's).
DECODES_TO_ITS_COLOUR: tuple[Callable[[Colour], bytes], ...] = (
    progressive_jpeg,
    cmyk_jpeg,
    ycck_jpeg,
    mpo,
    palette_png_with_transparent_border,
    sixteen_bit_png,
    animation("GIF"),
    animation("PNG"),
    animation("WEBP"),
    plain("BMP"),
    plain("TIFF"),
    plain("PNG", (1, 1)),
    plain("PNG", (1, 20_000)),
    plain("JPEG", (20_000, 1)),
    jpeg_with_orientation(0),
    jpeg_with_orientation(9),
    jpeg_with_orientation(255),
    jpeg_zip_polyglot,
    jpeg_without_end_marker,
    png_with_broken_metadata,
)


def _noise(fmt: str) -> bytes:
    rng = np.random.default_rng(7)
    return encode(Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)), fmt)


def truncations() -> dict[str, bytes]:
    """Uploads cut off at several points (a dropped connection, a half-synced file)."""
    cut: dict[str, bytes] = {}
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"):
        data = _noise(fmt)
        for fraction in (0.02, 0.25, 0.5, 0.9):
            cut[f"{fmt.lower()}_cut_at_{fraction}"] = data[: max(8, int(len(data) * fraction))]
    progressive = encode(
        Image.fromarray(np.random.default_rng(8).integers(0, 256, (96, 128, 3), dtype=np.uint8)),
        "JPEG",
        progressive=True,
    )
    cut["progressive_jpeg_cut_in_half"] = progressive[: len(progressive) // 2]
    # Cut where a scan ends and closed with an end marker: libjpeg reads the coarse first scans silently.
    last_scan = progressive.rindex(b"\xff\xda")
    cut["progressive_jpeg_closed_between_scans"] = progressive[:last_scan] + b"\xff\xd9"
    return cut


# Not images whatever their names say: 400 "not a supported image".
NOT_IMAGES: dict[str, bytes] = {
    "svg": b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "html_named_jpg": b"<!DOCTYPE html><html><body><img src='photo.jpg'></body></html>",
    "ico": encode(Image.new("RGB", (32, 32), (20, 20, 230)), "ICO"),
    "zip": b"PK\x03\x04" + b"\x00" * 40,
}
