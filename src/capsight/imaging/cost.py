"""What decoding one image holds in memory, in the decode budget's units (``budget.py``).

Why a module of its own: the budget counts plain RGB pixels, but a decode holds more than that
per pixel, and how much more depends on the mode Pillow decodes into, alpha, EXIF orientation and
an ICC profile. This is the one place that weighs those, mirroring what ``rgb.py``'s ``_to_rgb``,
``colour.py``'s ``to_srgb`` and ``decode.py``'s EXIF orientation allocate.
"""

from __future__ import annotations

from PIL import Image

from capsight.imaging.gif_canvas import bare_canvas_extent

# Bytes a pixel takes at the peak of decoding one image and converting it to RGB (``_to_rgb``), by
# the mode Pillow decodes into. Pillow keeps every 3- and 4-channel mode at 4 bytes a pixel; alpha is
# composited through four full-size 4-byte images at once (RGBA copy, white background, composite,
# RGB) besides the decoded one.
_RGB_BYTES = 4
_ALPHA_PEAK = 4 * _RGB_BYTES
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Bytes a pixel that some formats' decoders hold while they load, the decoded image included (measured
# on 49-megapixel files): WebP goes through libwebp's animation decoder (its RGBA canvas, the previous
# one and a copy handed to Pillow), 16; AVIF through libavif's YUV planes and an RGB buffer, 9 to 12
# for 8-bit files, more for 10-bit ones.
_LOAD_PEAK = {"WEBP": 16, "AVIF": 16}


def load_peak_bytes(fmt: str) -> int:
    """Bytes a pixel ``fmt``'s decoder holds while it loads (0: no more than the decoded image).

    Unlike what ``_to_rgb`` holds, this cannot be shrunk first (``decode.py``'s ``_reduced`` works on
    the loaded image), so ``limits.check_decoder_pixels`` caps the pixels of these formats by it."""
    return _LOAD_PEAK.get(fmt, 0)


def rgb_bytes_per_pixel() -> int:
    """What a still RGB image holds per pixel decoded (Pillow keeps RGB in 4 bytes)."""
    return _RGB_BYTES


def _peak_bytes_per_pixel(mode: str, transparent: bool) -> int:
    """What ``_to_rgb`` holds per pixel at its peak, decoded image included."""
    own = _MODE_BYTES.get(mode, 4)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return own + _ALPHA_PEAK
    if transparent and mode in ("RGB", "L", "1", "P"):
        return own + _RGB_BYTES + _ALPHA_PEAK  # converted to RGBA first, then composited
    if transparent and mode.startswith("I;16"):
        return own + 2 + _RGB_BYTES + _ALPHA_PEAK  # 8-bit grey and alpha, merged, then composited
    if mode == "RGB":
        return own
    if mode.startswith("I;16") or mode in ("I", "F"):
        return own + 1 + _RGB_BYTES  # scaled into an 8-bit grey image, then RGB
    return own + _RGB_BYTES  # one conversion to RGB


_TILE_WIDTH, _TILE_LENGTH = 322, 323  # TIFF tags


def tiff_tile_size(image: Image.Image) -> tuple[int, int]:
    """The size of one tile of a tiled TIFF, which its decoder holds whole; (0, 0) for any other image."""
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return 0, 0
    width, length = tags.get(_TILE_WIDTH), tags.get(_TILE_LENGTH)
    if not isinstance(width, int) or not isinstance(length, int):
        return 0, 0
    return max(0, width), max(0, length)


def _coefficient_bytes(image: Image.Image) -> int:
    """What libjpeg holds to decode a progressive JPEG: every DCT coefficient of the full-size picture
    (2 bytes each, 64 per 8x8 block of each component) until the last scan, at any draft scale.

    Why: the budget counted the drafted size only, right for a baseline JPEG, which streams; a
    49-megapixel progressive one of 575 KB held 285 MB (6 bytes a pixel for 4:4:4 colour, 3 for
    4:2:0) while it reserved about 3 MB of the budget.
    """
    layers = getattr(image, "layer", None)
    if not image.info.get("progressive") or not layers:
        return 0
    config = getattr(image, "decoderconfig", ())
    scale = int(config[0]) if config else 1  # draft's DCT scale: the size it was opened with
    h_max = max(layer[1] for layer in layers) or 1
    v_max = max(layer[2] for layer in layers) or 1
    samples = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)  # per full-size pixel
    return int(image.width * scale * image.height * scale * samples * 2)


def decode_cost(image: Image.Image) -> int:
    """Pixels to reserve from the decode budget for ``image``: its pixel count weighted by the memory
    its decode and conversion hold, in units of a plain RGB pixel (what the budget's capacity is
    sized by). Why: a transparent PNG holds five full-size buffers while it is made RGB, so counting
    its pixels alone let two 12-megapixel ones use 480 MB where the budget meant 96."""
    width, height = image.size
    # A GIF frame that leaves the canvas bare is made RGBA and composited, as a colour key is.
    transparent = "transparency" in image.info or bare_canvas_extent(image) is not None
    peak = _peak_bytes_per_pixel(image.mode, transparent)
    peak = max(peak, _LOAD_PEAK.get(image.format or "", 0))
    if "exif" in image.info:
        # exif_transpose may build a turned copy beside it. Counted whenever there is an EXIF block,
        # not parsed here: every phone photo has one, and _apply_exif_orientation parses it anyway;
        # a JPEG is drafted small, so the extra share is what matters only for a large image.
        peak += _MODE_BYTES.get(image.mode, 4)
    if image.info.get("icc_profile"):
        peak += _RGB_BYTES  # to_srgb writes the converted pixels into a new image
    tile_width, tile_length = tiff_tile_size(image)  # held beside the image while it decodes
    held = width * height * peak + tile_width * tile_length * _RGB_BYTES + _coefficient_bytes(image)
    return -(-held // _RGB_BYTES)
