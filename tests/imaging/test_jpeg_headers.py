"""The JPEG header walk that decides, before decoding, whether a file's scans must be counted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image
from capsight.imaging.jpeg_headers import FrameHeader, check_jpeg_scans, frame_header, jpeg_precision

SOS, EOI = b"\xff\xda", b"\xff\xd9"


def _jpeg(progressive: bool, mode: str = "RGB", size: int = 256) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (size, size), 90).save(buf, "JPEG", progressive=progressive, quality=90)
    return buf.getvalue()


def _last_scan_repeated(data: bytes, times: int) -> bytes:
    start, end = data.rindex(SOS), data.rindex(EOI)
    return data[:end] + data[start:end] * times + data[end:]


def test_the_frame_and_first_scan_are_read() -> None:
    assert frame_header(_jpeg(progressive=False)) == FrameHeader(0xC0, 8, 3, 3)
    assert frame_header(_jpeg(progressive=False, mode="L")) == FrameHeader(0xC0, 8, 1, 1)
    progressive = frame_header(_jpeg(progressive=True))
    assert progressive is not None and progressive.marker == 0xC2 and progressive.components == 3
    assert progressive.first_scan_components in (1, 3)  # libjpeg's first scan: the DC of all three
    assert jpeg_precision(_jpeg(progressive=False)) == 8


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff", b"\xff\xd8\xff\xe0\x00", b"\xff\xd8\x00\x00\x00\x00\x00\x00", b"\xff\xd8" + SOS * 4],
)
def test_damaged_headers_read_as_nothing(data: bytes) -> None:
    assert frame_header(data) is None
    assert jpeg_precision(data) is None


def test_a_progressive_jpeg_with_hundreds_of_scans_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidImage, match="scans"):
        check_jpeg_scans(_last_scan_repeated(_jpeg(progressive=True), 200))


@pytest.mark.parametrize("min_side", [None, 64], ids=["full-size", "reduced"])
def test_a_baseline_jpeg_with_a_repeated_scan_is_refused_by_the_decoder(min_side: int | None) -> None:
    """Not counted (a camera photo's markers cost ~0.8 ms to count), and still never decoded once
    per scan: libjpeg refuses a second scan of a frame whose first scan carried every component."""
    bomb = _last_scan_repeated(_jpeg(progressive=False), 200)
    check_jpeg_scans(bomb)  # not counted
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(bomb, min_side=min_side)
