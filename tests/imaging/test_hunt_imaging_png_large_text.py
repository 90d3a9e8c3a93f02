"""A PNG whose compressed metadata (XMP, a raw EXIF or XMP profile) inflates past Pillow's 1 MB cap.

Pillow refuses such a chunk ("Decompressed data too large") and with it the whole picture, so a photo
whose pixels are fine was answered "corrupt or truncated" (400) and skipped in training. ImageMagick
writes a JPEG's XMP into a PNG as a compressed "Raw profile type xmp" chunk, in hex; Photoshop's XMP
grows by megabytes of document history. The chunk is metadata the service does not need: the picture
is now read without it.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

RED = (220, 30, 30)
IEND_LENGTH = 12


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _with(png: bytes, chunk: bytes, *, after_pixels: bool = False) -> bytes:
    at = len(png) - IEND_LENGTH if after_pixels else 33  # before IEND, or right after IHDR
    return png[:at] + chunk + png[at:]


def _history(size: int) -> bytes:
    return b"<x:xmpmeta><photoshop:DocumentAncestors>" + b"<rdf:li>xmp.did:0123</rdf:li>" * (size // 29)


LARGE = PngImagePlugin.MAX_TEXT_CHUNK + 500_000
CHUNKS = {
    "zTXt raw profile": _chunk(
        b"zTXt", b"Raw profile type xmp\x00\x00" + zlib.compress(_history(LARGE).hex().encode())
    ),
    "compressed iTXt XMP": _chunk(
        b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(_history(LARGE))
    ),
}


@pytest.mark.parametrize("name", sorted(CHUNKS))
@pytest.mark.parametrize("after_pixels", [False, True], ids=["before-pixels", "after-pixels"])
def test_a_png_with_megabytes_of_compressed_metadata_is_read(name: str, after_pixels: bool) -> None:
    plain = _png(Image.new("RGB", (64, 48), RED))
    decoded = decode_image(_with(plain, CHUNKS[name], after_pixels=after_pixels), min_side=32)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(decode_image(plain, min_side=32).image))


def test_small_metadata_is_still_read_its_orientation_applied() -> None:
    """Only the chunk Pillow cannot take is left out: the EXIF orientation beside it still turns the photo."""
    image = Image.new("RGB", (60, 40), (30, 30, 220))
    image.paste(RED, (0, 0, 30, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    image.save(buf, "PNG", exif=exif.tobytes())
    decoded = decode_image(_with(buf.getvalue(), CHUNKS["zTXt raw profile"]))
    assert decoded.image.size == (40, 60)
    assert decoded.image.getpixel((20, 5)) == RED


def test_a_png_with_broken_pixels_and_large_metadata_is_still_refused() -> None:
    plain = _png(Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)))
    cut = plain[: len(plain) // 2] + _chunk(b"IEND", b"")
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(_with(cut, CHUNKS["zTXt raw profile"]))


# -- a metadata chunk whose checksum is wrong (a tool that edited the text and not the CRC) ----------------


def _with_bad_crc(chunk: bytes) -> bytes:
    return chunk[:-4] + bytes(4 * [0xAA])


@pytest.mark.parametrize("kind", [b"tEXt", b"zTXt", b"iTXt"])
def test_a_metadata_chunk_with_a_wrong_checksum_is_left_out_as_viewers_do(kind: bytes) -> None:
    """Pillow refused the whole PNG ("broken PNG file"); libpng, and so browsers, drop the chunk."""
    bodies = {
        b"tEXt": b"Comment\x00hi",
        b"zTXt": b"Comment\x00\x00" + zlib.compress(b"hi"),
        b"iTXt": b"C\x00\x00\x00\x00\x00hi",
    }
    plain = _png(Image.new("RGB", (64, 48), RED))
    for after_pixels in (False, True):
        data = _with(plain, _with_bad_crc(_chunk(kind, bodies[kind])), after_pixels=after_pixels)
        decoded = decode_image(data)
        assert np.array_equal(np.asarray(decoded.image), np.asarray(decode_image(plain).image))


def test_a_picture_chunk_with_a_wrong_checksum_is_still_refused() -> None:
    plain = _png(Image.new("RGB", (64, 48), RED))
    broken_header = plain[:29] + bytes(4 * [0xAA]) + plain[33:]  # IHDR's CRC
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(_with(broken_header, _with_bad_crc(_chunk(b"tEXt", b"Comment\x00hi"))))


def test_a_png_whose_colour_profile_inflates_past_the_cap_is_read_without_it() -> None:
    """A profile of megabytes (a printer's LUT profile) made Pillow refuse the PNG; read as untagged now."""
    profile = b"printer\x00\x00" + zlib.compress(b"\x00" * (PngImagePlugin.MAX_TEXT_CHUNK + 1))
    plain = _png(Image.new("RGB", (64, 48), RED))
    decoded = decode_image(_with(plain, _chunk(b"iCCP", profile)))
    assert np.array_equal(np.asarray(decoded.image), np.asarray(decode_image(plain).image))
