"""A cut-out object and the geometry done to it before pasting (upright, flip, rotate, scale).

Every transform runs on premultiplied alpha ("RGBa"): resampling plain RGBA mixes the colour
hidden under transparent pixels (here: the board) into the object's edge, which shows as a light
fringe once pasted on a darker scene.

``contact`` marks where the object ran off the original photo. It is transformed along with the
image, so after any rotation the compositor still knows which side is a straight cut that must be
hidden behind the scene's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Below this ratio of long to short axis there is no "long axis" to stand up (a bottle mouth seen
# from above, a crushed cap): such cut-outs keep the orientation they were photographed in.
MIN_ELONGATION = 1.4


@dataclass(frozen=True)
class Cutout:
    image: Image.Image  # RGBA, cropped to the object
    contact: Image.Image  # L, same size: 255 where the object ran off the original photo

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def alpha(self) -> np.ndarray:
        return np.asarray(self.image.getchannel("A"))

    def contact_points(self) -> np.ndarray:
        """(N, 2) array of x, y pixel positions marked as contact."""
        ys, xs = np.nonzero(np.asarray(self.contact) > 127)
        return np.stack([xs, ys], axis=1)


def _transform_rgba(image: Image.Image, op: str, value: float) -> Image.Image:
    pre = image.convert("RGBa")
    if op == "rotate":
        out = pre.rotate(value, resample=Image.Resampling.BICUBIC, expand=True)
    else:
        size = (max(1, round(image.width * value)), max(1, round(image.height * value)))
        out = pre.resize(size, Image.Resampling.LANCZOS if value < 1 else Image.Resampling.BICUBIC)
    return out.convert("RGBA")


def rotate(cutout: Cutout, degrees: float) -> Cutout:
    """Counter-clockwise rotation; the canvas grows to keep every corner."""
    if degrees % 360 == 0:
        return cutout
    image = _transform_rgba(cutout.image, "rotate", degrees)
    contact = cutout.contact.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True)
    return crop_to_content(Cutout(image=image, contact=contact))


def scale(cutout: Cutout, factor: float) -> Cutout:
    image = _transform_rgba(cutout.image, "scale", factor)
    contact = cutout.contact.resize(image.size, Image.Resampling.NEAREST)
    return Cutout(image=image, contact=contact)


def flip_horizontal(cutout: Cutout) -> Cutout:
    return Cutout(
        image=cutout.image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        contact=cutout.contact.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    )


def crop_to_content(cutout: Cutout) -> Cutout:
    box = cutout.image.getchannel("A").getbbox()
    if box is None or box == (0, 0, *cutout.size):
        return cutout
    return Cutout(image=cutout.image.crop(box), contact=cutout.contact.crop(box))


def principal_axis(alpha: np.ndarray) -> tuple[float, float]:
    """(angle of the long axis in degrees, counter-clockwise from +x with y up; elongation)."""
    ys, xs = np.nonzero(alpha > 127)
    if ys.size < 10:
        return 0.0, 1.0
    coords = np.stack([xs - xs.mean(), -(ys - ys.mean())])
    eigvals, eigvecs = np.linalg.eigh(np.cov(coords))
    major = eigvecs[:, int(np.argmax(eigvals))]
    elongation = math.sqrt(max(float(eigvals.max()), 1e-9) / max(float(eigvals.min()), 1e-9))
    return math.degrees(math.atan2(major[1], major[0])), elongation


def _neck_is_down(cutout: Cutout) -> bool:
    """True when the narrow end (the neck) points down.

    TrashNet bottles lie on the board at any angle. The neck is the clearly narrower end; when both
    ends are about as wide (crushed bottles), a straight cut by the frame decides: a bottle cut by
    the frame is cut at its body (the neck had to be in view to judge the cap), so the cut is the
    bottom.
    """
    alpha = cutout.alpha() > 127
    quarter = max(1, alpha.shape[0] // 4)
    widths = alpha.sum(axis=1)
    top, bottom = widths[:quarter], widths[-quarter:]
    top_width = float(top[top > 0].mean()) if top.any() else 0.0
    bottom_width = float(bottom[bottom > 0].mean()) if bottom.any() else 0.0
    clearly_different = max(top_width, bottom_width) > 1.15 * min(top_width, bottom_width)
    points = cutout.contact_points()
    if clearly_different or len(points) == 0:
        return top_width > bottom_width
    return bool(points[:, 1].mean() < np.nonzero(alpha)[0].mean())


def upright(cutout: Cutout) -> Cutout:
    """Stand an elongated object on its base with the neck up (see _neck_is_down).

    If the photo's frame cut the object on its neck half, the contact marks are dropped: hiding
    that cut behind a scene's edge would hide the neck and cap, the very thing the label is about,
    so such an object is pasted whole, straight cut and all.
    """
    angle, elongation = principal_axis(cutout.alpha())
    if elongation < MIN_ELONGATION:
        return cutout
    standing = rotate(cutout, 90.0 - angle)
    if _neck_is_down(standing):
        standing = rotate(standing, 180.0)
    points = standing.contact_points()
    if len(points) and points[:, 1].mean() < np.nonzero(standing.alpha() > 127)[0].mean():
        return Cutout(image=standing.image, contact=Image.new("L", standing.size, 0))
    return standing


def save(cutout: Cutout, stem: Path) -> None:
    """Write ``<stem>.png`` (RGBA) and ``<stem>.contact.png`` for a later process to load."""
    cutout.image.save(stem.parent / f"{stem.name}.png", compress_level=1)
    cutout.contact.save(stem.parent / f"{stem.name}.contact.png", compress_level=1)


def load(stem: Path) -> Cutout:
    with (
        Image.open(stem.parent / f"{stem.name}.png") as image,
        Image.open(stem.parent / f"{stem.name}.contact.png") as contact,
    ):
        return Cutout(image=image.convert("RGBA"), contact=contact.convert("L"))
