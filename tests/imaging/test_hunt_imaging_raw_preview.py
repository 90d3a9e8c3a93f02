"""Camera RAW files (DNG, NEF and other TIFF-based ones) start with the TIFF signature, and their first
picture is a small preview marked "reduced-resolution version of another image" (NewSubfileType bit
0); the photo itself is sensor data that Pillow cannot read. Such a file was classified from its
160x120 preview and answered 200 with the preview's size: in a folder shot RAW+JPEG every photo was
classified (and trained on) twice, once from a thumbnail. It is refused, saying what to send."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

NEW_SUBFILE_TYPE = 254


def _tiff(subfile_type: int | None) -> bytes:
    buf = io.BytesIO()
    info = {} if subfile_type is None else {NEW_SUBFILE_TYPE: subfile_type}
    Image.new("RGB", (160, 120), (200, 30, 30)).save(buf, "TIFF", tiffinfo=info)
    return buf.getvalue()


def test_a_raw_file_whose_first_picture_is_a_preview_is_refused() -> None:
    with pytest.raises(InvalidImage, match="RAW"):
        decode_image(_tiff(1))


@pytest.mark.parametrize("subfile_type", [None, 0, 2])  # unset, a full picture, a page of several
def test_tiffs_of_a_full_picture_still_decode(subfile_type: int | None) -> None:
    assert decode_image(_tiff(subfile_type)).image.size == (160, 120)
