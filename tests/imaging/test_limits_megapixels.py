"""The pixel limit's refusal in megapixels ("the limit is 50 megapixels", not "50000000 pixels"), with
the image's megapixels never shown as within the limit it is over (the API's answer:
tests/api/test_api_pixel_limit_megapixels.py)."""

from __future__ import annotations

import pytest

from capsight.errors import ImageTooLarge
from capsight.imaging.decode import decode_image
from capsight.imaging.limits import check_pixels
from imaging.test_hunt_imaging_tiff_tiles import _tiled_tiff


@pytest.mark.parametrize(
    ("size", "limit", "message"),
    [
        # One pixel over: "50.0 megapixels; the limit is 50" would read as within it.
        ((10_000, 5_001), 50_000_000, "(50.01 megapixels); the limit is 50 megapixels."),
        ((7_071, 7_072), 50_000_000, "(50.006 megapixels); the limit is 50 megapixels."),
        ((4_000, 3_000), 11_999_999, "(12.0 megapixels); the limit is 11.999999 megapixels."),
        ((12_000, 9_000), 50_000_000, "(108.0 megapixels); the limit is 50 megapixels."),
    ],
)
def test_the_image_never_reads_as_within_the_limit(size: tuple[int, int], limit: int, message: str) -> None:
    with pytest.raises(ImageTooLarge) as caught:
        check_pixels(*size, limit)
    assert caught.value.message == f"Image has {size[0]}x{size[1]} pixels {message}"


def test_a_tile_over_the_limit_is_refused_in_megapixels() -> None:
    data = _tiled_tiff(16, 16, 8192, bytes(16 * 16 * 3))
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(data)
    assert caught.value.message == (
        "The TIFF's tiles have 8192x8192 pixels each (67.1 megapixels); the limit is 50 megapixels."
    )
