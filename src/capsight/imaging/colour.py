"""Embedded ICC colour profiles: pixels are converted to sRGB before the model sees them.

Why: phones and cameras tag photos with the colour space their numbers are in (Display P3 on
iPhones, Adobe RGB on cameras, a press profile on CMYK files). The same red cap is stored as
different numbers in each; read as if they were sRGB, a P3 or Adobe RGB photo looks washed out
and a CMYK one off-colour. Converting to sRGB (what browsers show) gives the model one meaning
for a pixel value. Training decodes through the same function, so both sides see the same pixels.

Photos already in sRGB (most of them) are left untouched, not run through a no-op transform, so
their pixels stay bit-identical. A profile that cannot be read is ignored: the pixels are kept
as they are, which is what every viewer without colour management shows.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import threading
from collections import OrderedDict

from PIL import Image, ImageCms

logger = logging.getLogger(__name__)

# Pillow modes the conversion takes, by the ICC colour space their profile must declare.
_MODES_BY_SPACE = {"RGB": ("RGB", "RGBA"), "CMYK": ("CMYK",), "GRAY": ("L",)}
_MAX_ICC_BYTES = 4 << 20  # a real profile is a few KB (a CMYK press profile up to ~2 MB)


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


_MAX_TRANSFORMS = 32
_transforms: OrderedDict[tuple[bytes, str, str], ImageCms.ImageCmsTransform | None] = OrderedDict()
_transforms_lock = threading.Lock()


def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from ``icc`` to sRGB (cached: building one costs more than applying it to a
    downscaled photo, and a fleet of the same phones sends the same few profiles). None when the
    profile is sRGB already or does not describe ``in_mode`` pixels.

    The cache is keyed by the profile's digest, not its bytes: keyed by them (``lru_cache``), its
    32 entries kept up to 32 uploaded profiles of up to 4 MB each alive for good."""
    key = (hashlib.sha256(icc).digest(), in_mode, out_mode)
    with _transforms_lock:
        if key in _transforms:
            _transforms.move_to_end(key)
            return _transforms[key]
    transform = _build_transform(icc, in_mode, out_mode)  # outside the lock: it takes a while
    with _transforms_lock:
        _transforms[key] = transform
        while len(_transforms) > _MAX_TRANSFORMS:
            _transforms.popitem(last=False)
    return transform


def _build_transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    space = profile.profile.xcolor_space.strip()
    if in_mode not in _MODES_BY_SPACE.get(space, ()):
        return None
    if "srgb" in ImageCms.getProfileDescription(profile).lower():
        return None
    return ImageCms.buildTransform(
        profile, _srgb(), in_mode, out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def to_srgb(image: Image.Image) -> Image.Image:
    """``image`` in sRGB (RGB, or RGBA when it has alpha) if it carries a usable non-sRGB profile;
    else ``image`` itself, unchanged (a colour-keyed or palette one with a profile as RGB(A) or LA)."""
    icc = image.info.get("icc_profile")
    if not icc or not isinstance(icc, bytes) or len(icc) > _MAX_ICC_BYTES:
        return image
    if image.mode in ("RGB", "L") and "transparency" in image.info:
        # A colour key (PNG tRNS) names stored values: after the conversion no pixel matches it, and
        # the transparent ones came out in the key's colour instead of on white. Alpha carries it.
        image = image.convert("RGBA" if image.mode == "RGB" else "LA")
    elif image.mode == "P":
        # A palette's colours are in the profile's space too (PNG-8, GIF): converted as the pixels
        # they stand for, else a PNG-8 reached the model in other colours than its PNG-24 twin.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        transform = _transform(icc, image.mode, out_mode)
        if transform is None:
            return image
        return ImageCms.applyTransform(image, transform) or image
    except Exception:
        logger.debug("ignoring an unusable ICC profile", exc_info=True)
        return image
