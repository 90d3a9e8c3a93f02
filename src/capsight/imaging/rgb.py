"""Every Pillow mode made plain 8-bit RGB, the same way for training and serving.

Why a module of its own: the conversion is most of the code a decode runs after the pixels are read
(CMYK, greyscale, palette, colour keys, alpha on white, 16-bit and float data scaled to 8 bits), and
its high-bit-depth paths and its compositing on white work strip by strip to keep a large upload's
memory small. ``decode.py`` calls ``_to_rgb`` last, after EXIF orientation and the sRGB conversion
(``colour.py``); ``cost.py`` sizes the decode budget by what it holds at its peak.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image

_STRIP_PIXELS = 1 << 16  # high-bit-depth images are scaled to 8 bits about this many pixels at a time


def _strips(image: Image.Image) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, values) of horizontal strips of ``image``, each a small array of its own.

    Why strips: ``np.asarray`` of a whole 7000x7000 float image briefly holds two copies of its bytes,
    and widening it to int64 or float64 for the arithmetic took several 8-bytes-a-pixel temporaries:
    over a GB per upload. A strip's copies are a few hundred KB.
    """
    width, height = image.size
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        yield top, np.asarray(image.crop((0, top, width, min(height, top + rows))))


def _to_eight_bits(image: Image.Image, scale: Callable[[np.ndarray], np.ndarray]) -> Image.Image:
    """``scale`` applied strip by strip into one uint8 greyscale image."""
    out = np.empty((image.height, image.width), dtype=np.uint8)
    for top, strip in _strips(image):
        out[top : top + strip.shape[0]] = scale(strip)
    return Image.fromarray(out, mode="L")


def _float_peak(image: Image.Image) -> float:
    """The largest value, NaN ignored (+inf counts); 0.0 when every value is NaN."""
    peak = -math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN strip: nanmax gives NaN
        for _, strip in _strips(image):
            if strip.size:
                value = float(np.nanmax(strip))
                if not math.isnan(value):
                    peak = max(peak, value)
    return 0.0 if peak == -math.inf else peak


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "L", "1") and "transparency" in image.info:
        # A colour key (PNG tRNS on a truecolour or grey image): the pixels of that colour are
        # transparent, as a palette's are, and are composited on white (else they stay black).
        return _on_white(image)
    if mode == "RGB":
        return image
    if mode.startswith("I;16"):
        # A fixed 16 -> 8 bit scale: stretching by the image's own peak would turn a dark photo white.
        grey = _to_eight_bits(image, lambda s: (s.astype(np.uint32) + 128) // 257)
        key = image.info.get("transparency")
        if isinstance(key, int):
            # A 16-bit colour key (PNG tRNS) is matched exactly, before the values are narrowed.
            alpha = _to_eight_bits(image, lambda s: np.where(s == key, 0, 255))
            return _to_rgb(Image.merge("LA", (grey, alpha)))
        return grey.convert("RGB")
    if mode == "I":
        # 32-bit integer greyscale: 16-bit data when any value needs it, else already 8-bit values.
        extrema = image.getextrema()
        sixteen = int(extrema[1]) > 255  # type: ignore[arg-type]

        def scale_ints(strip: np.ndarray) -> np.ndarray:
            wide = strip.astype(np.int64)  # one temporary per strip; the rest works in place
            if sixteen:
                wide += 128
                wide //= 257
            return np.clip(wide, 0, 255, out=wide)

        return _to_eight_bits(image, scale_ints).convert("RGB")
    if mode == "F":
        # Float greyscale: [0, 1] data is scaled up, anything else is taken as 0-255 and clipped.
        unit = _float_peak(image) <= 1.0  # NaN counts as 0 and +inf as above 1, as nan_to_num has it

        def scale_floats(strip: np.ndarray) -> np.ndarray:
            wide = np.nan_to_num(strip.astype(np.float64), copy=False)  # one temporary per strip
            if unit:
                wide *= 255.0
            np.rint(wide, out=wide)
            return np.clip(wide, 0, 255, out=wide)

        return _to_eight_bits(image, scale_floats).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        return _on_white(image)
    return image.convert("RGB")


_BAND_PIXELS = 1 << 20  # alpha is composited on white about this many pixels at a time


def _on_white(image: Image.Image) -> Image.Image:
    """``image`` (with alpha, a transparent palette index or a colour key) composited on white, as RGB.

    Why band by band: made RGBA, laid on a white image and composited whole, it held four more
    full-size 4-byte buffers than the decoded image; ``decode.py`` shrinks an image first so that this
    is cheap, but it shrinks by the short side, and a transparent strip (1,630,000 x 30, under the
    pixel limit; a 154-byte animated WebP can declare such a canvas) took 880 MB. Each pixel is
    converted and composited by itself, so the bands give the same pixels as the whole image did.
    """
    width, height = image.size
    out = Image.new("RGB", image.size)
    rows = max(1, _BAND_PIXELS // max(1, width))
    for top in range(0, height, rows):
        box = (0, top, width, min(height, top + rows))
        band = image.crop(box).convert("RGBA")
        background = Image.new("RGBA", band.size, (255, 255, 255, 255))
        out.paste(Image.alpha_composite(background, band).convert("RGB"), box)
    return out
