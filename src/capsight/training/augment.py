"""Photo augmentation for phone pictures, on the decoded PIL image, before the shared preprocess.

Every step imitates something a real upload does: the object is framed a little differently
(crop keeping most of it, small tilt, mirror), the light and the white balance differ (brightness,
contrast, saturation), the phone shakes or misfocuses (blur), the sensor is noisy in dim light
(noise), and the picture was re-compressed by a messenger app (JPEG). Nothing here resizes to the
model input: :func:`capsight.imaging.preprocess` does that after, exactly as at serving time.

Randomness comes from a numpy ``Generator`` passed in, so a seed and an (epoch, index) pair
reproduce an augmented image exactly, with or without DataLoader workers.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter


@dataclass(frozen=True)
class AugmentConfig:
    crop_scale: tuple[float, float] = (0.70, 1.0)  # fraction of the area kept: the cap must stay in
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip: float = 0.5
    rotate_degrees: float = 10.0
    brightness: float = 0.25  # factor drawn from [1 - x, 1 + x]
    contrast: float = 0.25
    saturation: float = 0.25
    grayscale_p: float = 0.0  # colourless copies: amber/green glass must not be the cue for "opened"
    blur_p: float = 0.15
    blur_radius: tuple[float, float] = (0.3, 1.5)  # in pixels of the model input size
    noise_p: float = 0.15
    noise_sigma: tuple[float, float] = (2.0, 8.0)  # in 0..255 grey levels
    jpeg_p: float = 0.25
    jpeg_quality: tuple[int, int] = (40, 90)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


NO_AUGMENT = AugmentConfig(
    crop_scale=(1.0, 1.0),
    crop_ratio=(1.0, 1.0),
    hflip=0.0,
    rotate_degrees=0.0,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
    blur_p=0.0,
    noise_p=0.0,
    jpeg_p=0.0,
)


# For data with a known shortcut (here: glass colour <-> cap state) and few photos of the hard case:
# larger light/colour changes and grey copies so the model has to look at the neck, not the material,
# while the crop still keeps >= 70% of the area so a cap is never cropped off its label.
STRONG_AUGMENT = AugmentConfig(
    rotate_degrees=15.0,
    brightness=0.35,
    contrast=0.35,
    saturation=0.4,
    grayscale_p=0.15,
    blur_p=0.25,
    noise_p=0.2,
    jpeg_p=0.3,
)

AUGMENT_PRESETS = {"default": AugmentConfig(), "strong": STRONG_AUGMENT}


def random_resized_crop(
    image: Image.Image, scale: tuple[float, float], ratio: tuple[float, float], rng: np.random.Generator
) -> Image.Image:
    """Crop a random box of ``scale`` area fraction and ``ratio`` aspect change, resized back."""
    width, height = image.size
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            left = int(rng.integers(0, width - w + 1))
            top = int(rng.integers(0, height - h + 1))
            if (w, h) == (width, height):
                return image
            return image.resize(
                (width, height), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h)
            )
    return image


def _jitter(image: Image.Image, cfg: AugmentConfig, rng: np.random.Generator) -> Image.Image:
    steps = [
        (cfg.brightness, ImageEnhance.Brightness),
        (cfg.contrast, ImageEnhance.Contrast),
        (cfg.saturation, ImageEnhance.Color),
    ]
    for i in rng.permutation(len(steps)):
        amount, enhancer = steps[int(i)]
        if amount > 0:
            image = enhancer(image).enhance(float(rng.uniform(1 - amount, 1 + amount)))
    return image


def _noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, sigma, size=pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), mode="RGB")


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def augment(
    image: Image.Image, cfg: AugmentConfig, rng: np.random.Generator, *, model_size: int | None = None
) -> Image.Image:
    """A randomly altered copy of an RGB image, same size and mode as the input.

    ``model_size`` (the model input side) scales the blur radius so a blur looks the same after the
    image is shrunk to the model input, whatever size it was cached at.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    size = image.size
    image = random_resized_crop(image, cfg.crop_scale, cfg.crop_ratio, rng)
    if cfg.hflip and rng.random() < cfg.hflip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if cfg.rotate_degrees:
        angle = float(rng.uniform(-cfg.rotate_degrees, cfg.rotate_degrees))
        # Fill the uncovered corners with the picture's mean colour, not black, so the model does
        # not learn that black corners mean "training photo".
        fill = tuple(int(c) for c in np.asarray(image).reshape(-1, 3).mean(axis=0))
        image = image.rotate(angle, Image.Resampling.BILINEAR, expand=False, fillcolor=fill)
    image = _jitter(image, cfg, rng)
    if cfg.grayscale_p and rng.random() < cfg.grayscale_p:
        image = image.convert("L").convert("RGB")
    if cfg.blur_p and rng.random() < cfg.blur_p:
        factor = min(size) / model_size if model_size else 1.0
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(*cfg.blur_radius)) * factor))
    if cfg.noise_p and rng.random() < cfg.noise_p:
        image = _noise(image, float(rng.uniform(*cfg.noise_sigma)), rng)
    if cfg.jpeg_p and rng.random() < cfg.jpeg_p:
        image = _jpeg(image, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    assert image.size == size and image.mode == "RGB"
    return image
