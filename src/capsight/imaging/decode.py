"""Turn untrusted upload bytes into a validated RGB image, cheaply and safely.

Why this is careful:
- The format is detected from the bytes (magic numbers), never from a file name or content type.
- The pixel count is checked from the header *before* decoding, so a 50k x 50k PNG bomb costs
  microseconds, not gigabytes.
- JPEGs are decoded at reduced scale (libjpeg DCT scaling through Pillow's ``draft``) when the model
  needs far fewer pixels: a 1080x1920 phone photo decodes at 1/4 scale, several times faster.
- EXIF orientation is applied, and every mode (CMYK, greyscale, palette, 16-bit, alpha) is
  converted to plain RGB the same way for training and serving.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from capsight.errors import EmptyFile, ImageTooLarge, InvalidImage

# Pillow's own bomb check would raise its own error type; we check pixels ourselves first.
Image.MAX_IMAGE_PIXELS = None

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
)

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def detect_format(data: bytes) -> str | None:
    """Image format named by the leading bytes, or None when they are not a supported image."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, offset, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright
    width: int  # original width after EXIF orientation
    height: int
    format: str
    mode: str  # original Pillow mode, e.g. "CMYK"


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image, dtype=np.float64)
        peak = arr.max() if arr.size else 0.0
        scale = 255.0 / (65535.0 if peak > 255 else max(peak, 1.0))
        eight = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(eight, mode="L").convert("RGB")
    if mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 1.0)
        eight = ((arr - lo) / max(hi - lo, 1e-12) * 255.0).astype(np.uint8)
        return Image.fromarray(eight, mode="L").convert("RGB")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InvalidImage("The image has no pixels.")
            if width * height > max_pixels:
                raise ImageTooLarge(f"Image has {width}x{height} pixels; the limit is {max_pixels} pixels.")
            original_mode = image.mode
            if fmt == "JPEG" and min_side:
                image.draft("RGB", (min_side, min_side))
            image.load()
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            upright = ImageOps.exif_transpose(image)
            rgb = _to_rgb(upright)
            rgb.load()
    except (ImageTooLarge, InvalidImage):
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"The image could not be decoded ({fmt}): it is corrupt or truncated.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge() from exc
    orientation_swaps = rgb.size != image.size and rgb.size == image.size[::-1]
    if orientation_swaps:
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, format=fmt, mode=original_mode)


def decode_file(path: str, **kwargs: int | None) -> DecodedImage:
    """Decode an image from disk with the same rules as an upload (used by training and batch)."""
    with open(path, "rb") as fh:
        return decode_image(fh.read(), **kwargs)  # type: ignore[arg-type]
