"""A JPEG whose data is all there but whose end marker (the last two bytes) is missing.

Some camera and scanner firmwares write no end marker, and a copy that lost only its last bytes is the
same file: every viewer, Pillow included, shows the whole photo. libjpeg warns "premature end of JPEG
file" when it looks for the marker after the last block, the same words as for data cut short, and
that whole photo was refused as "corrupt or truncated" (400), in serving and in training alike.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

EOI = b"\xff\xd9"


def _photo(mode: str, **params: object) -> bytes:
    rng = np.random.default_rng(5)
    image = Image.fromarray((rng.random((60, 80, 3)) * 255).astype(np.uint8)).resize((640, 480))
    buf = io.BytesIO()
    image.convert(mode).save(buf, "JPEG", quality=90, **params)
    data = buf.getvalue()
    assert data.endswith(EOI)
    return data


CASES = {
    "baseline": ("RGB", {}),
    "greyscale": ("L", {}),
    "cmyk": ("CMYK", {}),
    "progressive": ("RGB", {"progressive": True}),
    "progressive-cmyk": ("CMYK", {"progressive": True}),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("min_side", [None, 160], ids=["full-size", "reduced"])
def test_a_whole_jpeg_without_its_end_marker_is_read_as_the_photo(case: str, min_side: int | None) -> None:
    mode, params = CASES[case]
    whole = _photo(mode, **params)
    expected = np.asarray(decode_image(whole, min_side=min_side).image)
    got = np.asarray(decode_image(whole[:-2], min_side=min_side).image)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_jpeg_cut_inside_its_data_is_still_refused(case: str, keep: float) -> None:
    mode, params = CASES[case]
    whole = _photo(mode, **params)
    for cut in (whole[: int(len(whole) * keep)], whole[: int(len(whole) * keep)] + EOI):
        with pytest.raises(InvalidImage, match=r"\(JPEG\): it is corrupt or truncated"):
            decode_image(cut, min_side=160)
