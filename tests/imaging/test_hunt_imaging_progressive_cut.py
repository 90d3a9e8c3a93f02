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
