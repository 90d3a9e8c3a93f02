"""What an opened image is refused for before a pixel of it is decoded.

Why a module of its own: Pillow's open reads only the header, and these checks turn what it declares
into a refusal that costs microseconds: too many pixels (a PNG bomb), a TIFF tile too large for
libtiff's whole-tile buffer, a camera RAW file whose first picture is its thumbnail. check_pixels is
also used where no decode happens at all (a result-cache hit).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from PIL import Image

from capsight.errors import ImageTooLarge, InvalidImage
from capsight.imaging.cost import load_peak_bytes, rgb_bytes_per_pixel, tiff_tile_size


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """ImageTooLarge past ``max_pixels``. Also used on a result-cache hit, which never decodes, so a
    server with a lower limit than the one that cached the answer still refuses the image."""
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"Image has {width}x{height} pixels ({_over_megapixels(width * height, max_pixels)} megapixels); "
            f"the limit is {_megapixels(max_pixels)} megapixels."
        )


_FORMAT_NAMES = {"WEBP": "WebP"}


def check_decoder_pixels(fmt: str, width: int, height: int, max_pixels: int) -> None:
    """ImageTooLarge when ``fmt``'s decoder would hold more memory for ``width`` x ``height`` than a still
    RGB image at ``max_pixels`` holds: WebP and AVIF, whose limit is a quarter of it (16 bytes a pixel).

    Why: ``max_pixels`` counts pixels, but the memory a pixel costs is what kills a server. libwebp's
    animation decoder, which Pillow reads every WebP through, holds 16 bytes a pixel before anything can
    be shrunk, and an animated WebP of ~150 bytes declaring 7000x7000 (under 50 megapixels) took the
    process ~747 MB for one request: past a pod's 512 MiB, with every request in it (the decode budget
    lets one decode larger than itself run alone). Only the formats whose *decoder* is that costly are
    held to it, not everything ``decode_cost`` weighs above RGB: a transparent PNG, an EXIF photo or a
    CMYK JPEG costs more while it is made RGB, but that happens after ``_reduced`` shrinks the image to
    what the model needs, so a 48-megapixel phone photo or a 40-megapixel RGBA PNG holds about its
    4 bytes a pixel, and they keep the whole limit. Real animated WebPs (stickers, short clips) and
    AVIFs are far under a quarter of it.
    """
    peak = load_peak_bytes(fmt)
    limit = max_pixels * rgb_bytes_per_pixel() // peak if peak else max_pixels
    if width * height > limit:
        name = _FORMAT_NAMES.get(fmt, fmt)
        raise ImageTooLarge(
            f"The {name} image has {width}x{height} pixels ({_over_megapixels(width * height, limit)} "
            f"megapixels); the limit for {name} images is {_megapixels(limit)} megapixels, as decoding one "
            f"takes {peak} bytes a pixel (the memory of a {_megapixels(max_pixels)}-megapixel JPEG or PNG "
            f"at {rgb_bytes_per_pixel()})."
        )


def pixel_setting_hint(max_pixels: int) -> str:
    """What a command line adds to an ImageTooLarge (the server's answer names no setting: a client
    cannot change it): the setting, and its value in pixels, as the message counts in megapixels."""
    return f"Set CAPSIGHT_MAX_PIXELS (now {max_pixels}) higher"


def _megapixels(pixels: int) -> str:
    """The limit exactly, as people read it: "50", not "50000000" (eight digits to count, and the
    page shows this message as it is); a limit an operator set to 1000 is "0.001", not rounded to 0."""
    return format(Decimal(pixels).scaleb(-6).normalize(), "f")


def _over_megapixels(pixels: int, limit: int) -> str:
    """An image's megapixels to one decimal ("63.0"), cut (never rounded up or to the limit) and with
    as many more decimals as it takes to read larger than the limit: 50,010,000 pixels is "50.01",
    not "50.0" against a limit of 50."""
    exact = Decimal(pixels).scaleb(-6)
    for decimals in range(1, 7):
        shown = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)
        if shown > Decimal(limit).scaleb(-6):
            return format(shown, "f")
    return format(exact, "f")  # not reached: six decimals are exact for a whole number of pixels


def check_tile_pixels(image: Image.Image, max_pixels: int) -> None:
    """ImageTooLarge when one tile of a tiled TIFF has more pixels than ``max_pixels``.

    Why: libtiff decodes a tile whole, into a buffer of its own, and a tile may be far larger than
    the image: a 16x16 TIFF of 200 bytes declaring 65520x65520 tiles took 12 GB behind the check of
    the image's size. (A tile somewhat larger than a small image is normal: 256x256 for a thumbnail.)
    """
    width, length = tiff_tile_size(image)
    if width * length > max_pixels:
        raise ImageTooLarge(
            f"The TIFF's tiles have {width}x{length} pixels each "
            f"({_over_megapixels(width * length, max_pixels)} megapixels); "
            f"the limit is {_megapixels(max_pixels)} megapixels."
        )


_NEW_SUBFILE_TYPE = 254  # TIFF tag; bit 0: "a reduced-resolution version of another image"


def _refuse_raw_preview(image: Image.Image) -> None:
    """InvalidImage for a TIFF whose first picture is a preview of another one: a camera RAW file.

    Why: DNG, NEF and other RAW files open with the TIFF signature and a small preview (160x120),
    the photo itself being sensor data Pillow cannot read. Such a file was classified from its
    thumbnail, and a folder shot RAW+JPEG had every photo classified and trained on twice.
    """
    tags = getattr(image, "tag_v2", None)
    subfile_type = tags.get(_NEW_SUBFILE_TYPE) if tags is not None else None
    if isinstance(subfile_type, int) and subfile_type & 1:
        raise InvalidImage(
            "The TIFF's first picture is a reduced-size preview of another one, as in camera RAW "
            "files (DNG, NEF): send the photo as JPEG, PNG or TIFF instead."
        )
