"""Turn untrusted upload bytes into a validated RGB image, cheaply and safely.

Why this is careful:
- The format is detected from the bytes (magic numbers), never from a file name or content type.
- The pixel count is checked from the header *before* decoding, so a 50k x 50k PNG bomb costs
  microseconds, not gigabytes; a WebP's or AVIF's against a quarter of the limit, their decoders
  holding four times a still RGB image's memory a pixel (``limits.check_decoder_pixels``); so are a
  tiled TIFF's tile size (libtiff holds a whole tile) and a
  JPEG's number of scans (each is one more pass over the picture) and a PNG's number of chunks (each
  is one more step in Python) (``limits.py``, ``jpeg_headers.py``, ``png_chunks.py``); a GIF's size
  is read from its bytes before Pillow opens it, which allocates its first frame (``gif_canvas.py``).
- JPEGs are decoded at reduced scale (libjpeg DCT scaling through Pillow's ``draft``) when the model
  needs far fewer pixels: a 1080x1920 phone photo decodes at 1/4 scale, several times faster; and
  through ``jpeg.py``, which refuses data libjpeg reports as cut short or damaged (Pillow hides that);
  a progressive JPEG closed between its scans, which libjpeg does not report, is refused before
  (``jpeg_progression.py``).
- Of an APNG the first frame of its animation is read, as browsers show it, not a default image
  kept for viewers that cannot play it (``apng.py``).
- The canvas a GIF's first frame leaves bare is transparent, as browsers show it (``gif_canvas.py``).
- EXIF orientation is applied (not an XMP one, which browsers ignore), an embedded ICC profile other
  than sRGB (Display P3, Adobe RGB, a CMYK press profile) is converted to sRGB (``colour.py``), and
  every mode (CMYK, greyscale, palette, 16-bit, alpha) is converted to plain RGB the same way for
  training and serving (``rgb.py``).
- Each decode reserves its memory from the decode budget first (``budget.py``), weighted by what
  it will hold (``cost.py``).
- HEIC/HEIF (what iPhones shoot) is read through the optional ``pillow-heif`` package (the
  ``capsight[heic]`` extra, which ``make serve`` installs); AVIF through Pillow itself.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageFile, ImageOps

from capsight.errors import EmptyFile, ImageTooLarge, InvalidImage
from capsight.imaging.apng import first_frame_png
from capsight.imaging.budget import decoding
from capsight.imaging.colour import to_srgb
from capsight.imaging.cost import decode_cost
from capsight.imaging.gif_canvas import bare_canvas_extent, opened_size, with_bare_canvas_transparent
from capsight.imaging.jpeg import decode_jpeg
from capsight.imaging.jpeg_headers import check_jpeg_scans, jpeg_precision
from capsight.imaging.jpeg_progression import check_progression
from capsight.imaging.limits import (
    _refuse_raw_preview,
    check_decoder_pixels,
    check_pixels,
    check_tile_pixels,
)
from capsight.imaging.png_chunks import check_png_chunks, without_unreadable_metadata
from capsight.imaging.rgb import _to_rgb

logger = logging.getLogger(__name__)

# Pillow's own bomb check would raise its own error type; we check pixels ourselves first.
Image.MAX_IMAGE_PIXELS = None

JPEG_MAGIC = b"\xff\xd8\xff"
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (JPEG_MAGIC, 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"II+\x00", 0, "TIFF"),  # BigTIFF
    (b"MM\x00+", 0, "TIFF"),
)

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF")
# File names that say "image" (for listing folders; the bytes still decide what a file is).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
_WHOLE_BUFFER_FORMATS = frozenset({"JPEG", "PNG"})
# ISO base media files (HEIF, AVIF) open with an "ftyp" box: its major brand, then compatible brands.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)


def detect_format(data: bytes) -> str | None:
    """Image format named by the leading bytes, or None when they are not a supported image."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return _iso_media_format(data)
    for magic, offset, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _iso_media_format(data: bytes) -> str | None:
    """AVIF or HEIF from the ftyp box's brands; None for other ISO media (MP4 video, QuickTime)."""
    size = int.from_bytes(data[:4], "big")
    end = min(len(data), size if 16 <= size <= 4096 else 16)
    brands = [data[8:12], *(data[i : i + 4] for i in range(16, end - 3, 4))]
    if any(brand in _AVIF_BRANDS for brand in brands):
        return "AVIF"  # an AVIF also lists the generic "mif1" brand, so it is checked first
    if any(brand in _HEIF_BRANDS for brand in brands):
        return "HEIF"
    return None


_heif_opener: bool | None = None  # None until the first HEIF upload asks for the plugin


def _heif_available() -> bool:
    """Register pillow-heif's Pillow plugin on first use (its import costs start-up time)."""
    global _heif_opener
    if _heif_opener is None:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            _heif_opener = False
        else:
            register_heif_opener()
            _heif_opener = True
    return _heif_opener


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright
    width: int  # original width after EXIF orientation
    height: int
    format: str
    mode: str  # original Pillow mode, e.g. "CMYK"


def decode_image(
    data: bytes,
    *,
    min_side: int | None = None,
    max_pixels: int = 50_000_000,
) -> DecodedImage:
    """Decode and validate an uploaded image.

    ``min_side``: the smallest side the caller needs; JPEGs are then decoded at the largest DCT
    reduction that still delivers at least that many pixels on each side.
    Raises EmptyFile, InvalidImage or ImageTooLarge.
    """
    if not data:
        raise EmptyFile()
    fmt = detect_format(data)
    if fmt is None:
        raise InvalidImage()
    if fmt == "JPEG":
        check_jpeg_scans(data)
        check_progression(data)
    if fmt == "GIF" and (canvas := opened_size(data)) is not None:
        check_pixels(*canvas, max_pixels)  # before the open fills the first frame's rectangle
    if fmt == "PNG":
        check_png_chunks(data)
        first_frame = first_frame_png(data)
        if first_frame is not None:  # the picture a browser shows, not the default image (apng.py)
            return decode_image(first_frame, min_side=min_side, max_pixels=max_pixels)
    if fmt == "HEIF" and not _heif_available():
        # Read by API clients and by `capsight classify`/`batch` users alike: no "server", no "send".
        raise InvalidImage(
            "HEIC/HEIF images need the optional pillow-heif package, which this install lacks "
            "(pip install 'capsight[heic]'); or convert the photo to JPEG or PNG."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns about recoverable oddities (corrupt EXIF, odd palettes): per-upload noise
            # that is not actionable, so silence it here; bombs are still turned into errors.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidImage("The image has no pixels.")
            check_pixels(width, height, max_pixels)
            check_decoder_pixels(fmt, width, height, max_pixels)  # WebP, AVIF: a quarter of it
            check_tile_pixels(image, max_pixels)
            _refuse_raw_preview(image)
            original_mode = image.mode
            if fmt == "JPEG" and min_side:
                image.draft("RGB", (min_side, min_side))
            if fmt == "PNG":
                _scale_colour_key(image)
            if fmt == "WEBP":
                _keep_canvas_alpha(image, data)
            if fmt in _WHOLE_BUFFER_FORMATS:
                # Hand the decoder the whole file in one call instead of 64 KB blocks: it releases
                # the GIL once per image rather than ~10 times, so decode threads do not queue
                # behind the event loop to get it back between blocks. The bytes are in memory anyway.
                image.decodermaxblock = max(len(data), ImageFile.MAXBLOCK)
            # Frame 0 is current after open; asking for n_frames would walk every frame of an
            # animation, which a hostile GIF can make arbitrarily slow. The size is the one that
            # will be decoded (after draft), which is what the memory is spent on, weighted by its mode.
            bare_canvas = bare_canvas_extent(image) if fmt == "GIF" else None  # read before load
            with decoding(decode_cost(image)):
                decoded = decode_jpeg(data, image) if fmt == "JPEG" else None
                if decoded is None:
                    with _xmp_hidden(image):  # Pillow's TIFF loader turns the image itself, by XMP too
                        image.load()
                    decoded = image
                if bare_canvas is not None:
                    decoded = with_bare_canvas_transparent(decoded, bare_canvas)
                swapped = _apply_exif_orientation(decoded)
                rgb = _to_rgb(to_srgb(_reduced(decoded, min_side)))
                rgb.load()
    except (ImageTooLarge, InvalidImage):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge() from exc
    except Exception as exc:
        lean = without_unreadable_metadata(data) if fmt == "PNG" else None
        if lean is not None:  # Pillow refused metadata, not pixels: read them without it
            return decode_image(lean, min_side=min_side, max_pixels=max_pixels)
        # Decoders fed hostile bytes fail in many ways (OSError for truncation, SyntaxError, struct.error,
        # IndexError, ...). Every one of them means "not a usable image", never an internal error.
        precision = jpeg_precision(data) if fmt == "JPEG" else None
        if precision is not None and 8 < precision <= 16:  # 12 (DCT) or up to 16 (lossless); else garbage
            raise InvalidImage(
                f"{precision}-bit JPEGs are not supported: send the picture as an 8-bit JPEG, "
                "a PNG or a TIFF."
            ) from exc
        raise InvalidImage(f"The image could not be decoded ({fmt}): it is corrupt or truncated.") from exc
    if swapped:
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, format=fmt, mode=original_mode)


# A PNG colour key's value in the pixels Pillow decodes, by the PNG's raw mode (``image.tile``): 1-, 2-
# and 4-bit greys are widened to 0-255 ("1" Pillow scales itself), 16-bit truecolour keeps its high byte.
_KEY_BITS = {"L;2": 2, "L;4": 4}


def _scale_colour_key(image: ImageFile.ImageFile) -> None:
    """Put a PNG's colour key (tRNS) in the scale of the pixels it is matched against.

    Why: Pillow keeps the key as the file stores it (3 in a 2-bit grey, 0x1234 in a 16-bit RGB) but
    decodes those pixels as 8 bits (255, 0x12), so the key matched nothing and the transparent parts
    showed in their colour instead of on white. A key outside the bit depth matches no pixel: dropped.
    """
    key = image.info.get("transparency")
    rawmode = image.tile[0][3] if image.tile else None  # (codec, extents, offset, rawmode)
    if key is None or not isinstance(rawmode, str):
        return
    scaled: object = key
    if rawmode in _KEY_BITS and isinstance(key, int):
        top = (1 << _KEY_BITS[rawmode]) - 1
        scaled = key * 255 // top if key <= top else None
    elif rawmode == "RGB;16B" and isinstance(key, tuple):
        scaled = tuple(value >> 8 for value in key)
    if scaled is None:
        del image.info["transparency"]
    else:
        image.info["transparency"] = scaled


_VP8X_ANIMATION, _VP8X_ALPHA = 0x02, 0x10  # flags of a WebP's extended header


def _keep_canvas_alpha(image: ImageFile.ImageFile, data: bytes) -> None:
    """Read an animated WebP whose alpha flag is unset as RGBA, so that its canvas is transparent.

    Why: libwebp's animation encoder crops each frame to the rectangle its opaque pixels cover and then
    leaves the alpha flag unset, the rest of the canvas being transparent by the format's rule (a
    messenger sticker). Pillow reads such a file as RGB, dropping the alpha its decoder delivers, and
    the canvas came out black where the same picture as a PNG or a still WebP is on white. An opaque
    animation comes out with the same pixels either way; only an odd Pillow's file is left as it is.
    """
    flags = data[20] if len(data) > 20 and data[12:16] == b"VP8X" else 0
    if not flags & _VP8X_ANIMATION or flags & _VP8X_ALPHA:
        return
    if image.mode == "RGB" and getattr(image, "rawmode", None) == "RGBX":
        image._mode = "RGBA"
        image.rawmode = "RGBA"  # type: ignore[attr-defined]


# Pillow's own ``reducing_gap`` rule: shrink by a whole factor while at least twice the target size
# remains, then let the model's resize do the rest; the result is what an antialiased resize from
# full size gives, to within a level or two.
_REDUCING_GAP = 2
# Modes whose values are intensities. Not "P" or "PA" (a TIFF with a colour map and alpha): their values
# are palette indexes, and the average of two indexes names some third colour of the palette.
_REDUCIBLE_MODES = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "I", "F"})


def _reduced(image: Image.Image, min_side: int | None) -> Image.Image:
    """``image`` shrunk by a whole factor (box filter) when the model needs far fewer pixels.

    Why: a PNG, WebP or HEIF decodes at full size (only JPEG has DCT scaling), and turning a
    49-megapixel transparent PNG (160 KB on the wire) into RGB on a white background held five
    full-size buffers, about 1 GB. Shrunk first, those conversions cost a few MB. JPEGs are already
    drafted to within twice the target, so only the very largest are touched. Training and serving
    both decode here, so they see the same pixels.
    """
    if not min_side or image.mode not in _REDUCIBLE_MODES or "transparency" in image.info:
        return image  # a colour key must stay exact to be found: averaging would blur it
    factor = min(image.size) // (_REDUCING_GAP * min_side)
    if factor < 2:
        return image
    reduced = image.reduce(factor)
    reduced.info = dict(image.info)  # keep the ICC profile (to_srgb) and the rest of the metadata
    return reduced


# Where Pillow keeps a file's XMP packet (PNG's iTXt keyword; JPEG, WebP, GIF, TIFF).
_XMP_KEYS = ("XML:com.adobe.xmp", "xmp")


def _apply_exif_orientation(image: Image.Image) -> bool:
    """Rotate ``image`` upright in place; True when that swapped its width and height.

    A broken EXIF block is ignored rather than failing the upload: the pixels are still fine.
    Pillow turns the pixels first and rewrites the EXIF after, and that rewrite can fail (a tag of
    the wrong type, e.g. ImageWidth stored as text), so the answer comes from the size either way:
    a turned image reported with its stored width and height would be sideways in the /v1 answer.

    Only the EXIF Orientation counts: browsers turn a photo by it alone (CSS ``image-orientation:
    from-image``), and the photo the user sees is the one classified. Pillow also takes an XMP
    ``tiff:Orientation`` when the EXIF has none, which turned such a photo a quarter from what the
    page showed; the XMP is kept out of its sight while it reads the orientation.
    """
    before = image.size
    try:
        with _xmp_hidden(image):
            ImageOps.exif_transpose(image, in_place=True)
    except Exception:
        logger.debug("ignoring unreadable EXIF orientation", exc_info=True)
    return image.size != before  # a square image "swaps" invisibly, which changes nothing


@contextlib.contextmanager
def _xmp_hidden(image: Image.Image) -> Iterator[None]:
    """``image``'s XMP out of Pillow's sight while it reads the orientation (see
    :func:`_apply_exif_orientation`). Also around a TIFF's ``load``: Pillow's TIFF loader applies the
    orientation itself as it loads, and a TIFF whose XMP alone had one was turned there, its answer
    giving the stored width and height (Pillow sizes a TIFF by its own Orientation tag when opened)."""
    xmp = {key: image.info.pop(key) for key in _XMP_KEYS if key in image.info}
    try:
        yield
    finally:
        image.info.update(xmp)


# Leading bytes enough for detect_format: an ISO media file lists its brands in a box of <= 4096.
SNIFF_BYTES = 4096


def read_image_stream(stream: IO[bytes]) -> bytes:
    """All of ``stream``, or InvalidImage from its first bytes when they name no image format.

    Why: folders of photos hold videos too (a phone's .MOV of gigabytes); read whole only to be
    refused, each took its size in memory, once per worker. An empty stream is returned as it is
    (decode_image names it EmptyFile)."""
    head = stream.read(SNIFF_BYTES)
    if head and detect_format(head) is None:
        raise InvalidImage()
    if stream.seekable():  # one buffer of the file's size, not head + rest joined into a third
        stream.seek(0)
        return stream.read()
    return head + stream.read()


def decode_file(path: str, **kwargs: int | None) -> DecodedImage:
    """Decode an image from disk with the same rules as an upload (used by training). The file is
    sniffed before it is read whole, as batch does: a video in a class folder costs 4 KB, not its size."""
    with open(path, "rb") as fh:
        return decode_image(read_image_stream(fh), **kwargs)  # type: ignore[arg-type]
