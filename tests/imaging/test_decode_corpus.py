"""decode_image on what real users send: phone and camera JPEGs (MPO, CMYK/YCCK, progressive, odd EXIF),
high-bit-depth and transparent PNGs, animations, extreme shapes, truncations and things that are not images.

Every input gets either an upright RGB image with the right pixels or a 4xx error (InvalidImage 400,
ImageTooLarge 413); the API tests check that these reach the client as such.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageCms

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image
from imaging import corpus
from imaging.corpus import Colour
from imaging.icc import adobe_to_srgb, rgb_profile

RED = (220, 30, 30)
BLUE = (30, 30, 220)
ORIENTATION = 0x0112


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def colour(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return (int(value[0]), int(value[1]), int(value[2]))


def near(actual: tuple[int, int, int], expected: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


def red_left_blue_right(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` with an APP1 segment carrying ``payload`` right after its SOI marker."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def raw_exif(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A big-endian EXIF block with one IFD of (tag, type, count, 4-byte inline value) entries."""
    ifd = struct.pack(">H", len(entries))
    ifd += b"".join(struct.pack(">HHI", tag, kind, count) + value for tag, kind, count, value in entries)
    return b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + ifd + b"\x00\x00\x00\x00"


# -- EXIF orientation ------------------------------------------------------------------------------


def test_rotated_jpeg_whose_exif_cannot_be_rewritten_reports_its_upright_size() -> None:
    """Pillow turns the pixels, then fails to re-encode this EXIF (ImageWidth stored as text): the
    image was upright but the answer kept the stored 60x40, so /v1 reported a sideways photo."""
    exif = raw_exif([(0x0100, 2, 4, b"abc\x00"), (ORIENTATION, 3, 1, b"\x00\x06\x00\x00")])
    data = with_app1(encode(red_left_blue_right(60, 40), "JPEG"), exif)
    decoded = decode_image(data)
    assert decoded.image.size == (40, 60)
    assert (decoded.width, decoded.height) == (40, 60)
    assert near(colour(decoded.image, (20, 5)), RED, 40)  # the left edge is now the top


# -- ICC colour profiles ---------------------------------------------------------------------------

CAMERA_GREEN = (60, 150, 90)  # as stored in an Adobe RGB photo; far from the same numbers in sRGB


@pytest.mark.parametrize(("fmt", "min_side"), [("PNG", None), ("JPEG", 8), ("WEBP", None), ("TIFF", None)])
def test_adobe_rgb_photo_is_converted_to_srgb(fmt: str, min_side: int | None) -> None:
    """Read as sRGB, a camera's Adobe RGB (or a phone's Display P3) photo is washed out."""
    params: dict[str, object] = {"icc_profile": rgb_profile()}
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = 95
    data = encode(Image.new("RGB", (40, 30), CAMERA_GREEN), fmt, **params)
    decoded = decode_image(data, min_side=min_side)
    assert near(colour(decoded.image, (5, 5)), adobe_to_srgb(CAMERA_GREEN), 4)  # (0, 151, 86)


def test_transparent_photo_with_a_profile_is_converted_then_composited() -> None:
    data = encode(Image.new("RGBA", (10, 10), (*CAMERA_GREEN, 0)), "PNG", icc_profile=rgb_profile())
    assert colour(decode_image(data).image, (5, 5)) == (255, 255, 255)
    data = encode(Image.new("RGBA", (10, 10), (*CAMERA_GREEN, 255)), "PNG", icc_profile=rgb_profile())
    assert near(colour(decode_image(data).image, (5, 5)), adobe_to_srgb(CAMERA_GREEN), 4)


def test_srgb_tagged_photo_keeps_its_exact_pixels() -> None:
    """Most phone photos say sRGB: they are not run through a transform that could shift a level."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    noise = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    decoded = decode_image(encode(Image.fromarray(noise), "PNG", icc_profile=srgb))
    assert np.array_equal(np.asarray(decoded.image), noise)


def test_unreadable_icc_profile_is_ignored() -> None:
    data = encode(Image.new("RGB", (10, 10), CAMERA_GREEN), "PNG", icc_profile=b"not a profile" * 20)
    assert colour(decode_image(data).image, (5, 5)) == CAMERA_GREEN


def test_profile_for_other_pixels_than_the_image_is_ignored() -> None:
    """An RGB profile on a greyscale image (a careless editor) describes nothing: keep the grey."""
    data = encode(Image.new("L", (10, 10), 90), "PNG", icc_profile=rgb_profile())
    assert colour(decode_image(data).image, (5, 5)) == (90, 90, 90)


# -- the corpus: what phones, cameras, editors and browsers send -----------------------------------


@pytest.mark.parametrize("build", corpus.DECODES_TO_ITS_COLOUR, ids=lambda build: build.__name__)
@pytest.mark.parametrize("min_side", [None, 32])
def test_real_world_upload_decodes_to_its_colour(
    build: Callable[[Colour], bytes], min_side: int | None
) -> None:
    decoded = decode_image(build(BLUE), min_side=min_side)
    image = decoded.image
    assert image.mode == "RGB"
    assert near(colour(image, (image.width // 2, image.height // 2)), BLUE, 8)


def test_mpo_from_a_phone_is_its_first_picture_at_reduced_scale() -> None:
    decoded = decode_image(corpus.mpo(BLUE), min_side=224)
    assert (decoded.format, decoded.width, decoded.height) == ("JPEG", 640, 480)
    assert decoded.image.size == (320, 240)  # the DCT-scaled decode works on an MPO as on a JPEG


def test_transparent_parts_become_white_not_black() -> None:
    border = decode_image(corpus.palette_png_with_transparent_border(BLUE)).image
    assert colour(border, (2, 2)) == (255, 255, 255)  # index 0 is black in the palette
    assert colour(border, (32, 24)) == BLUE
    assert colour(decode_image(corpus.grey_alpha_png(BLUE)).image, (3, 3)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "key", "inside", "expected"), [("RGB", (0, 0, 0), BLUE, BLUE), ("L", 0, 90, (90, 90, 90))]
)
def test_colour_keyed_png_transparency_becomes_white(
    mode: str, key: object, inside: object, expected: tuple[int, int, int]
) -> None:
    """A truecolour or grey PNG whose tRNS names one transparent colour (what some editors export
    for a cut-out): those pixels were kept as their key colour, black, where a viewer shows none."""
    image = Image.new(mode, (20, 20), key)  # type: ignore[arg-type]
    image.paste(inside, (5, 5, 15, 15))  # type: ignore[arg-type]
    decoded = decode_image(encode(image, "PNG", transparency=key))
    assert colour(decoded.image, (1, 1)) == (255, 255, 255)
    assert colour(decoded.image, (10, 10)) == expected


@pytest.mark.parametrize(
    ("build", "size"),
    [(corpus.plain("PNG", (1, 20_000)), (1, 20_000)), (corpus.plain("JPEG", (20_000, 1)), (20_000, 1))],
)
def test_extreme_shapes_keep_their_size(build: Callable[[Colour], bytes], size: tuple[int, int]) -> None:
    decoded = decode_image(build(BLUE), min_side=224)
    assert (decoded.width, decoded.height) == size
    assert decoded.image.size == size  # no DCT reduction can keep a 1 px side at 224


def test_rotated_non_square_jpeg_at_reduced_scale_is_upright() -> None:
    """Phones store portrait photos as landscape + EXIF 6: the reduced decode must turn too."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = encode(red_left_blue_right(1600, 900), "JPEG", exif=exif.tobytes(), quality=90)
    decoded = decode_image(data, min_side=224)
    assert (decoded.width, decoded.height) == (900, 1600)
    assert decoded.image.size == (225, 400)
    assert near(colour(decoded.image, (112, 20)), RED, 30)  # the left half is now the top
    assert near(colour(decoded.image, (112, 380)), BLUE, 30)


@pytest.mark.parametrize("name", sorted(corpus.truncations()))
def test_truncated_upload_is_invalid(name: str) -> None:
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(corpus.truncations()[name], min_side=32)


@pytest.mark.parametrize("name", sorted(corpus.NOT_IMAGES))
def test_not_an_image_is_invalid(name: str) -> None:
    with pytest.raises(InvalidImage, match="not a supported image"):
        decode_image(corpus.NOT_IMAGES[name])
