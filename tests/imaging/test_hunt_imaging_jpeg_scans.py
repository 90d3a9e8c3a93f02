"""A progressive JPEG's decoder makes one pass over every block of the picture per scan, and nothing
bounds the number of scans: one scan of a 2000x2000 JPEG repeated 2000 times (52 KB on the wire)
took 12 s of CPU to decode, 100 extra scans on a 49-megapixel one 11 s. Encoders write about 10 scans
(libjpeg's progression has 10 for colour, 18 for CMYK), so a file with hundreds is refused unread."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

SOS = b"\xff\xda"


def _progressive_jpeg(size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (120, 50, 50)).save(buf, "JPEG", progressive=True, quality=90)
    return buf.getvalue()


def _with_last_scan_repeated(data: bytes, times: int) -> bytes:
    """``data`` with its last scan (from its SOS marker to the end-of-image marker) repeated."""
    start, end = data.rindex(SOS), data.rindex(b"\xff\xd9")
    return data[:end] + data[start:end] * times + data[end:]


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding() -> None:
    bomb = _with_last_scan_repeated(_progressive_jpeg(), 2000)
    assert bomb.count(SOS) > 2000
    with pytest.raises(InvalidImage, match="scans"):
        decode_image(bomb, min_side=224)


def test_progressive_jpegs_as_encoders_write_them_still_decode() -> None:
    data = _progressive_jpeg(300)
    assert 5 <= data.count(SOS) <= 20
    assert decode_image(data, min_side=224).image.size == (300, 300)
    # A few extra scans (a custom jpegtran scan script) are still nowhere near the limit.
    assert decode_image(_with_last_scan_repeated(data, 10)).image.size == (300, 300)
