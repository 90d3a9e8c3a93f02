"""decode_image on every format and mode we promise, and on every hostile input we refuse."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from capsight.errors import EmptyFile, ImageTooLarge, InvalidImage
from capsight.imaging.decode import decode_file, decode_image, detect_format
from model_factory import png_bomb_header

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def pixel(decoded_image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    value = decoded_image.getpixel(xy)
    assert isinstance(value, tuple)
    return (int(value[0]), int(value[1]), int(value[2]))


def close_to(actual: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


# -- formats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_supported_format_decodes_to_rgb(fmt: str) -> None:
    data = encode(Image.new("RGB", (50, 30), RED), fmt)
    assert detect_format(data) == fmt
    decoded = decode_image(data)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (50, 30)
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (50, 30)
    assert close_to(pixel(decoded.image, (25, 15)), RED)


def test_detect_format_by_magic_bytes_only() -> None:
    assert detect_format(b"II*\x00rest") == "TIFF"
    assert detect_format(b"MM\x00*rest") == "TIFF"
    assert detect_format(b"II+\x00rest") == "TIFF"  # BigTIFF
    assert detect_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # RIFF but not WebP
    assert detect_format(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert detect_format(b"") is None


def test_jpeg_is_decoded_at_reduced_scale_but_reports_its_real_size() -> None:
    data = encode(Image.new("RGB", (1080, 1920), BLUE), "JPEG", quality=90)
    decoded = decode_image(data, min_side=224)
    assert (decoded.width, decoded.height) == (1080, 1920)
    assert decoded.image.size == (270, 480)  # 1/4 scale: the largest that keeps both sides >= 224
    assert min(decoded.image.size) >= 224
    assert decode_image(data).image.size == (1080, 1920)


def test_small_jpeg_is_not_scaled_below_the_requested_side() -> None:
    data = encode(Image.new("RGB", (300, 200), BLUE), "JPEG")
    assert decode_image(data, min_side=224).image.size == (300, 200)


# -- orientation and modes -------------------------------------------------------------------------


def _red_left_blue_right(width: int = 60, height: int = 40) -> Image.Image:
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(fmt: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    data = encode(_red_left_blue_right(), fmt, exif=exif.tobytes())
    decoded = decode_image(data)
    assert (decoded.width, decoded.height) == (40, 60)
    assert decoded.image.size == (40, 60)
    assert close_to(pixel(decoded.image, (20, 5)), RED, 40)  # the left edge is now the top
    assert close_to(pixel(decoded.image, (20, 55)), BLUE, 40)


def test_exif_orientation_with_reduced_scale_decoding() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode(_red_left_blue_right(1600, 1000), "JPEG", exif=exif.tobytes())
    decoded = decode_image(data, min_side=224)
    assert (decoded.width, decoded.height) == (1000, 1600)
    assert decoded.image.size == (250, 400)


def test_unreadable_exif_is_ignored() -> None:
    data = encode(Image.new("RGB", (40, 30), RED), "JPEG")
    app1 = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 8  # IFD with 65535 entries
    garbage = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    decoded = decode_image(data[:2] + garbage + data[2:])
    assert decoded.image.size == (40, 30)


def test_cmyk_jpeg() -> None:
    data = encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG")
    decoded = decode_image(data)
    assert decoded.mode == "CMYK"
    r, g, b = pixel(decoded.image, (20, 15))
    assert r > 200 and g < 60 and b < 60


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_greyscale(fmt: str) -> None:
    decoded = decode_image(encode(Image.new("L", (40, 30), 90), fmt))
    assert decoded.mode == "L"
    r, g, b = pixel(decoded.image, (5, 5))
    assert r == g == b and abs(r - 90) <= 3


def test_bilevel() -> None:
    decoded = decode_image(encode(Image.new("1", (16, 16), 1), "PNG"))
    assert pixel(decoded.image, (3, 3)) == (255, 255, 255)


def test_palette_with_transparency_is_composited_on_white() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (10, 0, 20, 10))
    decoded = decode_image(encode(image, "PNG", transparency=0))
    assert decoded.mode == "P"
    assert pixel(decoded.image, (2, 5)) == (255, 255, 255)  # transparent red -> white
    assert pixel(decoded.image, (15, 5)) == (0, 0, 255)


def test_rgba_and_la_are_composited_on_white() -> None:
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 128))
    r, g, b = pixel(decode_image(encode(rgba, "PNG")).image, (5, 5))
    assert r == 255 and 120 <= g <= 135 and 120 <= b <= 135
    opaque = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    assert pixel(decode_image(encode(opaque, "PNG")).image, (5, 5)) == (0, 0, 255)
    la = Image.new("LA", (10, 10), (0, 0))
    assert pixel(decode_image(encode(la, "PNG")).image, (5, 5)) == (255, 255, 255)


def test_16_bit_png_scales_by_bit_depth_not_by_content() -> None:
    values = np.array([[0, 100, 32896, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    decoded = decode_image(data)
    assert decoded.mode.startswith("I;16")
    assert [pixel(decoded.image, (x, 0))[0] for x in range(4)] == [0, 0, 128, 255]


def test_dark_16_bit_png_stays_dark() -> None:
    data = encode(Image.fromarray(np.full((8, 8), 100, dtype=np.uint16)), "PNG")
    assert pixel(decode_image(data).image, (4, 4)) == (0, 0, 0)


def test_32_bit_integer_and_float_tiffs() -> None:
    eight = Image.fromarray(np.full((4, 4), 200, dtype=np.int32))
    assert pixel(decode_image(encode(eight, "TIFF")).image, (1, 1)) == (200, 200, 200)
    sixteen = Image.fromarray(np.full((4, 4), 65535, dtype=np.int32))
    assert pixel(decode_image(encode(sixteen, "TIFF")).image, (1, 1)) == (255, 255, 255)
    unit = Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32))
    assert pixel(decode_image(encode(unit, "TIFF")).image, (1, 1)) == (128, 128, 128)


def _reference_eight_bits(values: np.ndarray) -> np.ndarray:
    """The whole-image arithmetic the strip-wise conversion must reproduce exactly."""
    if values.dtype == np.float32:
        floats = np.nan_to_num(values.astype(np.float64))
        if floats.max() <= 1.0:
            floats = floats * 255.0
        return np.clip(np.rint(floats), 0, 255).astype(np.uint8)
    ints = values.astype(np.int64)
    if ints.max() > 255:
        ints = (ints + 128) // 257
    return np.clip(ints, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["unit floats", "wide floats", "nan and inf", "8-bit ints", "16-bit ints"])
def test_high_bit_depth_conversion_is_the_same_across_strips(kind: str) -> None:
    rng = np.random.default_rng(3)
    shape = (700, 9)  # taller than one strip of rows, so strip edges are crossed
    values = {
        "unit floats": rng.random(shape, dtype=np.float32),
        "wide floats": (rng.random(shape, dtype=np.float32) * 400 - 50),
        "nan and inf": np.where(rng.random(shape) < 0.1, np.nan, rng.random(shape, dtype=np.float32)),
        "8-bit ints": rng.integers(-20, 256, shape).astype(np.int32),
        "16-bit ints": rng.integers(-5, 70_000, shape).astype(np.int32),
    }[kind]
    if kind == "nan and inf":
        values = values.astype(np.float32)
        values[5, 5] = np.inf  # one +inf: the data is no longer [0, 1], as nan_to_num would say
    decoded = decode_image(encode(Image.fromarray(values), "TIFF"))
    got = np.asarray(decoded.image)[:, :, 0]
    assert np.array_equal(got, _reference_eight_bits(values))


def test_high_bit_depth_conversion_does_not_widen_the_whole_image() -> None:
    """A 16-bit PNG or float TIFF near the pixel limit once cost over a GB in 8-byte temporaries."""
    side = 1000
    floats = Image.fromarray(np.random.default_rng(0).random((side, side), dtype=np.float32))
    data = encode(floats, "TIFF")
    tracemalloc.start()  # counts NumPy's buffers (Pillow's own image memory is not counted)
    try:
        decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * side * side  # under 8 bytes a pixel; the whole-image float64 way took ~33


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = decode_image(buf.getvalue())
    assert close_to(pixel(decoded.image, (10, 10)), RED, 20)


# -- hostile and broken input ----------------------------------------------------------------------


def test_png_bomb_is_refused_from_the_header() -> None:
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="100000x100000"):
        decode_image(png_bomb_header(100_000, 100_000))
    assert time.perf_counter() - started < 1.0  # nothing was decoded


def test_pixel_limit_is_configurable() -> None:
    data = encode(Image.new("RGB", (100, 100), RED), "PNG")
    with pytest.raises(ImageTooLarge):
        decode_image(data, max_pixels=9_999)
    assert decode_image(data, max_pixels=10_000).width == 100


def _jpeg_with_declared_size(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _gif_with_declared_size(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "GIF"))
    struct.pack_into("<HH", data, 6, width, height)
    return bytes(data)


def _bmp_with_declared_size(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "BMP"))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        _jpeg_with_declared_size(60_000, 60_000),
        _gif_with_declared_size(65_535, 65_535),
        _bmp_with_declared_size(40_000, 40_000),
    ],
    ids=["jpeg", "gif", "bmp"],
)
def test_huge_declared_sizes_are_refused(data: bytes) -> None:
    with pytest.raises(ImageTooLarge):
        decode_image(data)


def test_truncated_images_are_invalid() -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    for fmt in ("JPEG", "PNG", "WEBP"):
        data = encode(noise, fmt)
        with pytest.raises(InvalidImage, match="corrupt or truncated"):
            decode_image(data[: len(data) // 2])


def test_empty_and_text_input() -> None:
    with pytest.raises(EmptyFile):
        decode_image(b"")
    with pytest.raises(InvalidImage, match="not a supported image"):
        decode_image(b"just some text\n")


def test_text_named_like_a_jpeg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_text("definitely a photo, trust me")
    with pytest.raises(InvalidImage):
        decode_file(str(path))


def test_zip_behind_an_image_signature_is_refused() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        # A fixed time stamp: its bytes land where a GIF frame stores its size, and some clock times
        # (05:34) read as a frame too large to decode, which is refused as ImageTooLarge instead.
        zf.writestr(zipfile.ZipInfo("payload.txt", date_time=(2026, 1, 1, 12, 0, 0)), "hello")
    for header in (b"GIF89a", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"BM"):
        with pytest.raises(InvalidImage):
            decode_image(header + archive.getvalue())


def test_image_with_a_zip_appended_is_read_as_the_image() -> None:
    """A JPEG/ZIP polyglot is a valid JPEG: only its pixels are used, the tail is never parsed."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.txt", "hello")
    decoded = decode_image(encode(Image.new("RGB", (30, 20), RED), "JPEG") + archive.getvalue())
    assert decoded.format == "JPEG" and decoded.image.size == (30, 20)


def test_decode_file_reads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "x.webp"
    path.write_bytes(encode(Image.new("RGB", (12, 8), BLUE), "WEBP"))
    assert decode_file(str(path)).format == "WEBP"
