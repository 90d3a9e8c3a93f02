"""Paste a cut-out into a real scene so the picture reads as a photo of that thing in that place.

Why each step (all random draws come from the caller's generator, so a seed fixes the picture):
- the scene is a random crop (60-100% of its area, aspect 3:4..4:3) of a real photo, so one scene
  yields different backgrounds;
- the object stands upright (see cutout.upright) tilted by up to 15 degrees, or lies on its side
  (litter does), mirrored half the time; its size is 30-90% of the frame's height (width when
  lying) as in hand-held and close-up photos, 20-50% for round things (a mouth seen from above,
  which would otherwise fill the frame as a giant ring);
- an object that ran off its studio photo is pushed past the scene's edge on the cut side, so no
  straight cut shows inside the frame;
- studio light is bright and white: the object's brightness and colour cast move part of the way
  towards the scene's around it; a soft contact shadow is drawn half the time;
- the whole picture gets a little blur sometimes, sensor noise, and JPEG re-compression, so edges
  of the paste are not sharper or cleaner than the scene around them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from capsight.training.dataprep import cutout as geometry
from capsight.training.dataprep.cutout import Cutout

_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class CompositeParams:
    output_long_side: int = 512
    size_fraction: tuple[float, float] = (0.30, 0.90)  # of frame height (width when lying)
    round_size_fraction: tuple[float, float] = (0.20, 0.50)  # not elongated: a mouth seen from above
    max_tilt: float = 15.0
    lying_probability: float = 0.25
    min_visible: float = 0.6  # share of the object that must stay inside the frame
    brightness_match: tuple[float, float] = (0.25, 0.6)  # exponent towards the scene's brightness
    colour_match: tuple[float, float] = (0.1, 0.35)  # exponent towards the scene's colour cast
    shadow_probability: float = 0.5
    blur_probability: float = 0.3
    max_noise: float = 5.0  # sigma, 0..255 scale
    jpeg_quality: tuple[int, int] = (60, 95)


@dataclass(frozen=True)
class Composite:
    image: Image.Image  # RGB, before JPEG encoding
    jpeg_quality: int
    placement: dict[str, Any]  # what was drawn, for the manifest

    def save(self, path: Path) -> None:
        self.image.save(path, format="JPEG", quality=self.jpeg_quality)


def crop_scene(scene: Image.Image, rng: np.random.Generator, params: CompositeParams) -> Image.Image:
    width, height = scene.size
    area = rng.uniform(0.6, 1.0) * width * height
    aspect = math.exp(rng.uniform(math.log(0.75), math.log(4 / 3)))
    crop_w = min(width, max(8, round(math.sqrt(area * aspect))))
    crop_h = min(height, max(8, round(math.sqrt(area / aspect))))
    left = int(rng.integers(0, width - crop_w + 1))
    top = int(rng.integers(0, height - crop_h + 1))
    crop = scene.convert("RGB").crop((left, top, left + crop_w, top + crop_h))
    factor = params.output_long_side / max(crop_w, crop_h)
    size = (max(8, round(crop_w * factor)), max(8, round(crop_h * factor)))
    return crop.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _pose(item: Cutout, rng: np.random.Generator, params: CompositeParams) -> tuple[Cutout, dict[str, Any]]:
    flipped = bool(rng.random() < 0.5)
    if flipped:
        item = geometry.flip_horizontal(item)
    lying = bool(rng.random() < params.lying_probability)
    tilt = float(rng.uniform(-params.max_tilt, params.max_tilt))
    turn = (90.0 if rng.random() < 0.5 else -90.0) if lying else 0.0
    return geometry.rotate(item, turn + tilt), {"flipped": flipped, "lying": lying, "tilt": round(tilt, 1)}


def _scale_to_frame(
    item: Cutout, frame: tuple[int, int], lying: bool, rng: np.random.Generator, params: CompositeParams
) -> Cutout:
    frame_w, frame_h = frame
    width, height = item.size
    round_item = geometry.principal_axis(item.alpha())[1] < geometry.MIN_ELONGATION
    wanted = rng.uniform(*(params.round_size_fraction if round_item else params.size_fraction))
    factor = wanted * frame_w / width if lying else wanted * frame_h / height
    factor = min(factor, 0.95 * frame_w / width, 0.95 * frame_h / height)
    return geometry.scale(item, factor)


def _cut_edge(item: Cutout) -> str | None:
    """The side of the object where it ran off its photo: the direction from its centre to the cut."""
    points = item.contact_points()
    if len(points) == 0:
        return None
    ys, xs = np.nonzero(item.alpha() > 127)
    dx, dy = points[:, 0].mean() - xs.mean(), points[:, 1].mean() - ys.mean()
    if abs(dx) > abs(dy):
        return "right" if dx > 0 else "left"
    return "bottom" if dy > 0 else "top"


def _visible_share(alpha: np.ndarray, x: int, y: int, frame: tuple[int, int]) -> float:
    frame_w, frame_h = frame
    h, w = alpha.shape
    inside = alpha[max(0, -y) : max(0, min(h, frame_h - y)), max(0, -x) : max(0, min(w, frame_w - x))]
    return float(inside.sum()) / max(float(alpha.sum()), 1.0)


def _position(
    item: Cutout, frame: tuple[int, int], rng: np.random.Generator, params: CompositeParams
) -> tuple[int, int, str | None]:
    frame_w, frame_h = frame
    width, height = item.size
    x = int(rng.integers(0, max(frame_w - width, 0) + 1))
    y = int(rng.integers(0, max(frame_h - height, 0) + 1))
    edge = _cut_edge(item)
    if edge is None:
        return x, y, None
    points = item.contact_points()
    # Push the object past the frame until every cut pixel is outside, then back in as far as
    # needed to keep at least ``min_visible`` of it in view.
    target = {
        "bottom": (x, frame_h - int(points[:, 1].min())),
        "top": (x, -int(points[:, 1].max()) - 1),
        "right": (frame_w - int(points[:, 0].min()), y),
        "left": (-int(points[:, 0].max()) - 1, y),
    }[edge]
    step = {"bottom": (0, -1), "top": (0, 1), "right": (-1, 0), "left": (1, 0)}[edge]
    alpha = item.alpha().astype(np.float64)
    x, y = target
    stride = max(1, round(0.03 * max(width, height)))
    for _ in range(60):
        if _visible_share(alpha, x, y, frame) >= params.min_visible:
            break
        x, y = x + step[0] * stride, y + step[1] * stride
    return x, y, edge


def _match_light(
    rgb: np.ndarray, alpha: np.ndarray, around: np.ndarray, rng: np.random.Generator, params: CompositeParams
) -> np.ndarray:
    """Move the object's mean brightness and colour cast part of the way to the scene around it."""
    weights = alpha.reshape(-1)
    obj_mean = (rgb.reshape(-1, 3) * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-6)
    scene_mean = around.reshape(-1, 3).mean(axis=0)
    obj_luma, scene_luma = max(float(obj_mean @ _LUMA), 1e-3), max(float(scene_mean @ _LUMA), 1e-3)
    luma_gain = (scene_luma / obj_luma) ** rng.uniform(*params.brightness_match)
    cast = (np.maximum(scene_mean, 1e-3) / scene_luma) / (np.maximum(obj_mean, 1e-3) / obj_luma)
    gains = luma_gain * cast ** rng.uniform(*params.colour_match) * rng.uniform(0.9, 1.1)
    return np.clip(rgb * np.clip(gains, 0.5, 1.6), 0.0, 1.0)


def compose(
    item: Cutout, scene: Image.Image, rng: np.random.Generator, params: CompositeParams | None = None
) -> Composite:
    """One composite of ``item`` on a random crop of ``scene``."""
    params = params or CompositeParams()
    background = crop_scene(scene, rng, params)
    frame = background.size
    posed, placement = _pose(item, rng, params)
    posed = _scale_to_frame(posed, frame, placement["lying"], rng, params)
    x, y, edge = _position(posed, frame, rng, params)

    canvas = np.asarray(background, dtype=np.float64) / 255.0
    rgba = np.asarray(posed.image, dtype=np.float64) / 255.0
    h, w = rgba.shape[:2]
    # Overlap of the object's box with the frame, in frame and in object coordinates.
    fx0, fy0, fx1, fy1 = max(x, 0), max(y, 0), min(x + w, frame[0]), min(y + h, frame[1])
    ox0, oy0 = fx0 - x, fy0 - y
    alpha = rgba[oy0 : oy0 + fy1 - fy0, ox0 : ox0 + fx1 - fx0, 3:4]
    colour = rgba[oy0 : oy0 + fy1 - fy0, ox0 : ox0 + fx1 - fx0, :3]
    pad_x, pad_y = w // 2, h // 2
    around = canvas[max(0, fy0 - pad_y) : fy1 + pad_y, max(0, fx0 - pad_x) : fx1 + pad_x]
    colour = _match_light(colour, alpha[..., 0], around, rng, params)

    shadow = bool(rng.random() < params.shadow_probability)
    if shadow:
        canvas = _draw_shadow(canvas, posed, (x, y), rng)
    region = canvas[fy0:fy1, fx0:fx1]
    canvas[fy0:fy1, fx0:fx1] = colour * alpha + region * (1.0 - alpha)

    image = Image.fromarray(np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    blurred = bool(rng.random() < params.blur_probability)
    if blurred:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    noise_sigma = float(rng.uniform(0.0, params.max_noise))
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0.0, noise_sigma, (frame[1], frame[0], 3))
    image = Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8), "RGB")
    visible = _visible_share(posed.alpha().astype(np.float64), x, y, frame)
    placement.update(
        size_fraction=round((fy1 - fy0) / frame[1], 3),
        visible_share=round(visible, 3),
        cut_hidden_at=edge,
        shadow=shadow,
        blurred=blurred,
        noise_sigma=round(noise_sigma, 2),
    )
    quality = int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1))
    placement["jpeg_quality"] = quality
    return Composite(image=image, jpeg_quality=quality, placement=placement)


def _draw_shadow(
    canvas: np.ndarray, item: Cutout, origin: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Darken the scene under a blurred, slightly offset copy of the object's silhouette."""
    frame_h, frame_w = canvas.shape[:2]
    h = item.size[1]
    blur = max(1.0, 0.04 * h)
    silhouette = item.image.getchannel("A")
    margin = round(3 * blur)
    padded = Image.new("L", (silhouette.width + 2 * margin, silhouette.height + 2 * margin), 0)
    padded.paste(silhouette, (margin, margin))
    soft = np.asarray(padded.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float64) / 255.0
    dx = round(rng.uniform(-0.03, 0.03) * h)
    dy = round(rng.uniform(0.01, 0.04) * h)
    x, y = origin[0] - margin + dx, origin[1] - margin + dy
    fx0, fy0 = max(x, 0), max(y, 0)
    fx1, fy1 = min(x + soft.shape[1], frame_w), min(y + soft.shape[0], frame_h)
    if fx1 <= fx0 or fy1 <= fy0:
        return canvas
    part = soft[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None]
    out = canvas.copy()
    out[fy0:fy1, fx0:fx1] *= 1.0 - rng.uniform(0.15, 0.35) * part
    return out
