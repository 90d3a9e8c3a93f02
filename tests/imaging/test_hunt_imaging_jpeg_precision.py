"""A 12-bit JPEG (medical and industrial cameras write them) is a valid file the decoder cannot read:
it was refused as "corrupt or truncated", which sends the user looking for damage that is not there.
The refusal says what the file is and what to send instead."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

SOF0 = b"\xff\xc0"


def _jpeg_with_precision(bits: int, **params: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, "JPEG", **params)
    data = bytearray(buf.getvalue())
    sof = data.find(SOF0) if SOF0 in data else data.find(b"\xff\xc2")
    data[sof + 4] = bits  # marker, 2 length bytes, then the sample precision
    return bytes(data)


@pytest.mark.parametrize("params", [{}, {"progressive": True}])
def test_a_12_bit_jpeg_is_refused_as_such(params: dict[str, object]) -> None:
    with pytest.raises(InvalidImage, match="12-bit JPEG"):
        decode_image(_jpeg_with_precision(12, **params))


def test_an_8_bit_jpeg_is_unchanged() -> None:
    assert decode_image(_jpeg_with_precision(8)).image.size == (32, 24)


def test_a_garbage_precision_is_still_called_corrupt() -> None:
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(_jpeg_with_precision(200))
