"""HEIC/HEIF (iPhone photos, through pillow-heif) and AVIF (Pillow): detected from their bytes, upright,
size-checked before decoding, and refused cleanly when broken."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from capsight.errors import ImageTooLarge, InvalidImage
from capsight.imaging import decode
from capsight.imaging.decode import decode_image, detect_format

pillow_heif = pytest.importorskip("pillow_heif")  # the [heic] extra; `make test` installs it
pillow_heif.register_heif_opener()  # only to *write* test files; capsight registers it for reading

RED = (220, 30, 30)
BLUE = (30, 30, 220)
ORIENTATION = 0x0112


def two_colour(size: tuple[int, int] = (120, 80)) -> Image.Image:
    """Left half red, right half blue: shows which way the decoded image is turned."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def encode(image: Image.Image, fmt: str, orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    params: dict[str, object] = {"quality": 90}
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        params["exif"] = exif.tobytes()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def colour_at(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return tuple(int(v) for v in value[:3])


def near(actual: tuple[int, ...], expected: tuple[int, int, int], tol: int = 20) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize(("fmt", "name"), [("HEIF", "HEIF"), ("AVIF", "AVIF")])
def test_heif_and_avif_are_detected_and_decoded(fmt: str, name: str) -> None:
    data = encode(two_colour(), fmt)
    assert detect_format(data) == name
    decoded = decode_image(data)
    assert decoded.format == name and decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (120, 80)
    assert near(colour_at(decoded.image, (10, 40)), RED) and near(colour_at(decoded.image, (110, 40)), BLUE)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_rotated_phone_photo_comes_out_upright(fmt: str) -> None:
    """Orientation 6 (camera held upright, sensor sideways): shown turned 90 degrees clockwise."""
    decoded = decode_image(encode(two_colour(), fmt, orientation=6))
    assert (decoded.width, decoded.height) == (80, 120) == decoded.image.size
    assert near(colour_at(decoded.image, (40, 10)), RED)  # the left half is now on top
    assert near(colour_at(decoded.image, (40, 110)), BLUE)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_the_pixel_limit_is_checked_from_the_header(fmt: str) -> None:
    with pytest.raises(ImageTooLarge, match="120x80"):
        decode_image(encode(two_colour(), fmt), max_pixels=120 * 80 - 1)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_a_truncated_file_is_an_invalid_image(fmt: str) -> None:
    data = encode(two_colour((256, 256)), fmt)
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_other_iso_media_files_are_not_images() -> None:
    """MP4 video and QuickTime share the 'ftyp' box; their brands are not image brands."""
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    mov = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 64
    for data in (mp4, mov):
        assert detect_format(data) is None
        with pytest.raises(InvalidImage):
            decode_image(data)


def test_an_avif_listing_mif1_first_is_still_avif() -> None:
    head = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf" + b"\x00" * 8
    assert detect_format(head) == "AVIF"


def test_without_pillow_heif_a_heic_upload_gets_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server installed without the [heic] extra (simulated: the plugin reported missing)."""
    monkeypatch.setattr(decode, "_heif_opener", False)
    with pytest.raises(InvalidImage, match=r"pillow-heif.*capsight\[heic\]"):
        decode_image(encode(two_colour(), "HEIF"))
