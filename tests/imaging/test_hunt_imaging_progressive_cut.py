"""A progressive JPEG cut off between two of its scans and closed with an end marker.

libjpeg reads such a file without a warning: the scans it holds make a whole, coarser picture (the first
is the colours' averages over 8x8 blocks, often without chroma), which is what a browser shows while a
progressive JPEG is still loading. An upload cut there and "repaired" with an end marker was answered 200
from that blur, where the contract (README, Images) says a JPEG whose data stops early is a 400.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

SOS, EOI = b"\xff\xda", b"\xff\xd9"


def _photo(mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(3)
    small = Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).resize((640, 480))
    buf = io.BytesIO()
    small.convert(mode).save(buf, "JPEG", progressive=True, quality=90)
    return buf.getvalue()


def _scan_starts(data: bytes) -> list[int]:
    starts, at = [], data.find(SOS)
    while at != -1:
        starts.append(at)
        at = data.find(SOS, at + 2)
    return starts


def test_the_test_photos_are_progressive_with_many_scans() -> None:
    assert len(_scan_starts(_photo())) == 10
    assert len(_scan_starts(_photo("L"))) == 6
    assert len(_scan_starts(_photo("CMYK"))) > 10


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("min_side", [None, 160], ids=["full-size", "reduced"])
def test_a_progressive_jpeg_closed_after_some_scans_is_refused(mode: str, min_side: int | None) -> None:
    data = _photo(mode)
    for cut in _scan_starts(data)[1:]:
        with pytest.raises(InvalidImage, match=r"\(JPEG\): it is corrupt or truncated"):
            decode_image(data[:cut] + EOI, min_side=min_side)


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_a_whole_progressive_jpeg_is_still_read(mode: str) -> None:
    data = _photo(mode)
    decoded = decode_image(data, min_side=160)
    assert decoded.image.size == (320, 240) and decoded.mode == mode


# -- a sequential JPEG with a scan per component (old scanners, jpegtran's scan scripts) ---------------


def _segments(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(marker, segment, entropy-coded data after it) of a one-scan JPEG Pillow wrote, up to its scan."""
    found, at = [], 2
    while True:
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        end = at + 2 + length
        if marker == 0xDA:
            found.append((marker, data[at:end], data[end : data.rindex(EOI)]))
            return found
        found.append((marker, data[at:end], b""))
        at = end


def _scan_per_component(image: Image.Image) -> tuple[bytes, list[int]]:
    """A baseline colour JPEG whose Y, Cb and Cr planes are three scans of one component each (4:4:4),
    built from Pillow's greyscale JPEGs of the planes; and where each of its scans starts."""
    tables, scans = [], []
    for index, plane in enumerate(image.convert("YCbCr").split()):
        buf = io.BytesIO()
        plane.save(buf, "JPEG", quality=90)
        huffman = b""
        for marker, segment, entropy in _segments(buf.getvalue()):
            if marker == 0xDB:  # its quantisation table, renumbered to the component's
                tables.append(segment[:4] + bytes([segment[4] & 0xF0 | index]) + segment[5:])
            elif marker == 0xC4:
                huffman += segment
            elif marker == 0xDA:
                scans.append(huffman + segment[:5] + bytes([index + 1]) + segment[6:] + entropy)
    width, height = image.size
    components = b"".join(bytes([index + 1, 0x11, index]) for index in range(3))
    frame = b"\xff\xc0" + (17).to_bytes(2, "big") + bytes([8]) + height.to_bytes(2, "big")
    frame += width.to_bytes(2, "big") + bytes([3]) + components
    head = b"\xff\xd8" + b"".join(tables) + frame
    starts = [len(head) + sum(len(scan) for scan in scans[:index]) for index in range(3)]
    return head + b"".join(scans) + EOI, starts


def _planes_photo() -> Image.Image:
    rng = np.random.default_rng(4)
    return Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).resize((640, 480))


def test_a_jpeg_with_a_scan_per_component_is_read() -> None:
    data, _ = _scan_per_component(_planes_photo())
    assert decode_image(data, min_side=160).image.size == (320, 240)
    decoded = decode_image(data)
    close = np.abs(np.asarray(decoded.image, dtype=int) - np.asarray(_planes_photo(), dtype=int))
    assert close.mean() < 3


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "not-closed"])
def test_a_jpeg_with_a_scan_per_component_cut_between_them_is_refused(closed: bool) -> None:
    """It decoded without a warning into a grey picture (its colour scans missing), answered 200."""
    data, starts = _scan_per_component(_planes_photo())
    for cut in starts[1:]:
        with pytest.raises(InvalidImage, match=r"\(JPEG\): it is corrupt or truncated"):
            decode_image(data[:cut] + (EOI if closed else b""), min_side=160)
