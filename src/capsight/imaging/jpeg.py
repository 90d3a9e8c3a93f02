"""JPEG pixels through libjpeg-turbo's TurboJPEG API (``simplejpeg``), refusing damaged data.

Why not Pillow alone: Pillow does not surface libjpeg's warnings. A JPEG whose data stops early but
still ends with an end-of-image marker (a cut-off upload some client "repaired"), or whose
compressed data is damaged, decodes "successfully" into a picture that is partly flat grey, and the
service answered it with a confident label (200) where its contract says 400. ``simplejpeg`` reports
those warnings. It runs the same library at the same DCT scale Pillow's ``draft`` chose, so the
pixels are bit-identical to Pillow's (checked on every photo of the bottle set and on baseline,
progressive, greyscale and 4:4:4 / 4:2:2 / 4:2:0 files, in ``tests/imaging``): training, evaluation
and serving see exactly what they saw before, and a 600 KB phone photo decodes no slower.

Only what Pillow would call "RGB" or "L" is decoded here; CMYK and YCCK JPEGs (with Adobe's inverted
channels), headers TurboJPEG cannot read, and any file this path cannot decode go to Pillow as before
(CMYK and YCCK ones after a check here that their data is whole).
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from PIL import Image

from capsight.errors import InvalidImage

try:
    import simplejpeg
except ImportError:  # a platform without its wheel: Pillow decodes every JPEG, leniently
    simplejpeg = None

logger = logging.getLogger(__name__)

# libjpeg's warnings that mean the picture is not all there. Others ("extraneous bytes before marker
# 0xd9" that some cameras write after the image, an unknown JFIF revision, an odd Adobe transform
# code) leave the pixels intact, so those files decode as before.
_DAMAGED = re.compile(
    r"premature end|bad huffman code|bad arithmetic code|instead of RST|"
    r"extraneous bytes before marker 0xd[0-7]",
    re.IGNORECASE,
)
_AT_THE_END = re.compile(r"before marker 0xd9", re.IGNORECASE)
# What libjpeg says when the file ends where it looks for the next marker: inside the data (cut short)
# or after the last block, where only the end marker is missing (the photo is whole).
_END_OF_FILE = re.compile(r"premature end of JPEG file", re.IGNORECASE)
_EOI = b"\xff\xd9"
_COLOURSPACES = {"RGB": "RGB", "L": "GRAY"}
_DAMAGED_MESSAGE = "The image could not be decoded (JPEG): it is corrupt or truncated."


def decode_jpeg(data: bytes, image: Image.Image) -> Image.Image | None:
    """``image`` (a JPEG opened by Pillow, drafted, not loaded) decoded from ``data``; None when this
    path does not apply and Pillow should decode it instead.

    Raises InvalidImage when libjpeg reports the data cut short or damaged.
    """
    colourspace = _COLOURSPACES.get(image.mode)
    if simplejpeg is None:
        return None
    if colourspace is None:
        if image.mode == "CMYK":
            _check_intact(data, "CMYK")
            if not data.endswith(_EOI):
                return _closed_by_pillow(data, image)
        return None
    width, height = image.size  # after draft: the size Pillow would decode to
    config = getattr(image, "decoderconfig", ())
    scale = int(config[0]) if config else 1
    options: dict[str, Any] = {
        "colorspace": colourspace,
        "min_width": width,
        "min_height": height,
        "min_factor": scale,
    }
    try:
        pixels = _strict(data, options)
    except ValueError as exc:
        if _DAMAGED.search(str(exc)):
            raise InvalidImage(_DAMAGED_MESSAGE) from exc
        try:
            pixels = simplejpeg.decode_jpeg(data, strict=False, **options)
        except ValueError:
            # E.g. a chroma layout TurboJPEG does not name, which Pillow's libjpeg reads (Pillow
            # decodes it, or fails with its own message), or a header warning TurboJPEG raises anyway.
            pixels = None
        # The strict decode stopped at a harmless warning, maybe before reading any data: check that
        # data once more without the header's extras, where such warnings come from. (Not when the
        # warning was about bytes before the end marker: all the data had been read by then.)
        if not _AT_THE_END.search(str(exc)):
            _check_intact(_bare(data), colourspace)
        if pixels is None:
            return None
    if pixels.shape[:2] != (height, width):
        logger.warning(
            "TurboJPEG chose %s for a %dx%d draft; decoding with Pillow", pixels.shape, width, height
        )
        return None
    decoded = Image.fromarray(pixels[:, :, 0] if colourspace == "GRAY" else pixels, image.mode)
    decoded.info = dict(image.info)  # EXIF orientation and the ICC profile are applied after this
    return decoded


def _check_intact(data: bytes | None, colourspace: str) -> None:
    """InvalidImage when libjpeg reports ``data`` cut short or damaged; its pixels come from elsewhere.

    Why: Pillow decodes CMYK and YCCK JPEGs (it undoes Adobe's inverted CMYK itself) but hides
    libjpeg's warnings, and libjpeg's strict mode stops at its first warning: a harmless one in the
    header (an unknown JFIF revision, stray bytes between segments) hid a cut-off file closed with
    an end marker, answered 200. A CMYK file is checked as it is, then, like one that stopped at a
    harmless warning, without its header's extras (:func:`_bare`). At 1/8 scale: all of the
    compressed data is still read, little else is computed.
    """
    assert simplejpeg is not None
    candidates = (data, _bare(data)) if colourspace == "CMYK" and data is not None else (data,)
    for candidate in candidates:
        if candidate is None:
            return
        try:
            _strict(candidate, {"colorspace": colourspace, "min_factor": 8, "min_width": 1, "min_height": 1})
            return
        except ValueError as exc:
            if _DAMAGED.search(str(exc)):
                raise InvalidImage(_DAMAGED_MESSAGE) from exc
            if _AT_THE_END.search(str(exc)):
                return  # all the data was read before this harmless warning


def _strict(data: bytes, options: dict[str, Any]) -> Any:
    """simplejpeg's strict decode of ``data``, or of ``data`` closed with an end marker when it ends
    without one where libjpeg looked for it.

    Why: some cameras and scanners write no end marker, and a copy that lost its last two bytes is the
    same photo; every viewer shows it whole, but libjpeg's warning is the one for data cut short, and
    the photo was refused. Closed with a marker, data cut inside a scan still meets that marker where
    blocks are missing, and libjpeg says so ("premature end of data segment"): still refused.
    """
    assert simplejpeg is not None
    try:
        return simplejpeg.decode_jpeg(data, strict=True, **options)
    except ValueError as exc:
        if not _END_OF_FILE.search(str(exc)) or data.endswith(_EOI):
            raise
    return simplejpeg.decode_jpeg(data + _EOI, strict=True, **options)


def _closed_by_pillow(data: bytes, image: Image.Image) -> Image.Image:
    """Pillow's decode of ``data`` closed with an end marker, at ``image``'s draft scale.

    Why: Pillow refuses a JPEG that ends without one ("image file is truncated") however whole its
    data (which :func:`_check_intact` has just checked). One that has it before trailing data (an
    MPO's later pictures, a phone's trailer) decodes the same: libjpeg stops at the first.
    """
    closed = Image.open(io.BytesIO(data + _EOI), formats=["JPEG"])
    closed.draft("RGB", image.size)  # the size decode_image's draft chose: the same scale again
    closed.decodermaxblock = getattr(image, "decodermaxblock", closed.decodermaxblock)
    closed.load()
    return closed


def _bare(data: bytes | None) -> bytes | None:
    """``data`` with only what decoding needs before its first scan: the segments other than APPn
    and comments (Adobe's APP14 kept: it says how the colours are stored), no stray bytes between
    them; None when the segments cannot be walked."""
    if data is None:
        return None
    kept = [data[:2]]
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF or data[i + 1] in (0x00, 0xFF):
            i += 1  # a stray byte, or fill before a marker
            continue
        marker = data[i + 1]
        if marker == 0xDA:  # the first scan: everything from here on is kept as it is
            return b"".join(kept) + data[i:]
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i:end]
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE) or segment[4:9] == b"Adobe":
            kept.append(segment)
        i = end
    return None
