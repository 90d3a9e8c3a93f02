"""A WebP declaring a large canvas is refused before libwebp allocates it, at a quarter of the pixel limit.

libwebp's animation decoder, which Pillow reads every WebP through, holds about 16 bytes a pixel of the
canvas (its RGBA canvas, the previous one and the copy handed to Pillow) before anything can be shrunk;
a still RGB image at the pixel limit holds 4. The mutation fuzz found an animated WebP of ~150 bytes
declaring 7000x7000 (49 megapixels, under the limit of 50) that took the process ~747 MB over its idle
size for one request, past the 512 MiB a pod is given. Measured in a fresh interpreter, as in
``test_decode_memory.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from capsight.errors import ImageTooLarge
from capsight.imaging.decode import decode_image
from capsight.imaging.limits import check_decoder_pixels
from imaging.fresh_decode import decode_in_fresh_process, linux_only


def _animated_webp(canvas: tuple[int, int]) -> bytes:
    """A 2-frame 16x16 animated WebP whose VP8X header declares ``canvas`` (frames at its top left)."""
    frames = [Image.new("RGB", (16, 16), (200, 40, 40)), Image.new("RGB", (16, 16), (40, 40, 200))]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100)
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"VP8X" and data[20] & 0x02  # extended header, animation flag
    data[24:27] = (canvas[0] - 1).to_bytes(3, "little")  # canvas width minus one, 24 bits
    data[27:30] = (canvas[1] - 1).to_bytes(3, "little")
    return bytes(data)


@pytest.mark.slow
@linux_only
def test_a_tiny_webp_declaring_49_megapixels_is_refused_before_it_is_allocated(tmp_path: Path) -> None:
    data = _animated_webp((7000, 7000))
    assert len(data) < 300
    assert Image.open(io.BytesIO(data)).size == (7000, 7000)  # what Pillow would decode
    decoded = decode_in_fresh_process(data, tmp_path)
    assert decoded.outcome == "ImageTooLarge", decoded
    assert decoded.grew_mb < 100, f"refusing it took {decoded.grew_mb} MB"


def test_the_refusal_names_the_canvas_and_the_limit_for_webp() -> None:
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(_animated_webp((7000, 7000)))
    assert caught.value.status_code == 413
    assert caught.value.message == (
        "The WebP image has 7000x7000 pixels (49.0 megapixels); the limit for WebP images is "
        "12.5 megapixels, as decoding one takes 16 bytes a pixel (the memory of a 50-megapixel JPEG "
        "or PNG at 4)."
    )


def test_the_webp_limit_follows_the_pixel_limit() -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(_animated_webp((1001, 1000)), max_pixels=4_000_000)  # 1.001 MP over 1 MP
    assert decode_image(_animated_webp((1000, 1000)), max_pixels=4_000_000).image.size == (1000, 1000)


def test_an_animated_webp_under_its_limit_is_decoded() -> None:
    decoded = decode_image(_animated_webp((3500, 3500)), min_side=160)  # 12.25 MP
    assert (decoded.width, decoded.height, decoded.format) == (3500, 3500, "WEBP")
    assert decoded.image.getpixel((0, 0)) == (200, 40, 40)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "HEIF", "TIFF", "GIF", "BMP"])
def test_other_formats_keep_the_whole_limit(fmt: str) -> None:
    """A 50-megapixel JPEG, a 48-megapixel phone HEIC, a 40-megapixel RGBA PNG: what they cost beyond
    4 bytes a pixel is spent after ``_reduced`` shrinks them, so they are not held to a quarter."""
    check_decoder_pixels(fmt, 10_000, 5_000, 50_000_000)


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF"])
def test_webp_and_avif_are_held_to_a_quarter(fmt: str) -> None:
    check_decoder_pixels(fmt, 5_000, 2_500, 50_000_000)  # 12.5 MP: the limit itself
    with pytest.raises(ImageTooLarge):
        check_decoder_pixels(fmt, 5_000, 2_501, 50_000_000)
