"""The single preprocessing function: PIL RGB image -> normalised float32 CHW array.

Training, evaluation, export parity checks and serving all call :func:`preprocess` with the
:class:`PreprocessSpec` stored in the model's ``model.json``. One function and one set of numbers is
what prevents train/serve skew; never reimplement these steps elsewhere.

Resize modes:
- ``squash``: the whole picture resized to a square. Nothing is cropped away, which matters for
  bottle status: the cap is often near the edge of a hand-held photo and a centre crop would lose it.
- ``center_crop``: shorter side to ``resize_size`` then a centre crop (the ImageNet habit).
- ``letterbox``: keep the aspect ratio and pad with the mean colour.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

ResizeMode = Literal["squash", "center_crop", "letterbox"]
RESIZE_MODES: tuple[ResizeMode, ...] = ("squash", "center_crop", "letterbox")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessSpec:
    input_size: int = 224
    resize_mode: ResizeMode = "squash"
    resize_size: int = 256  # only for center_crop
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        """ValueError for values serving cannot use: a model.json with a zero std or a misspelt
        mode loaded, reported ready, then answered every image with NaN or a 500 (or failed its
        warm-up with a bare KeyError / IndexError)."""
        spec = cls(
            input_size=int(data.get("input_size", 224)),
            resize_mode=data.get("resize_mode", "squash"),
            resize_size=int(data.get("resize_size", 256)),
            mean=tuple(float(x) for x in data.get("mean", IMAGENET_MEAN)),  # type: ignore[arg-type]
            std=tuple(float(x) for x in data.get("std", IMAGENET_STD)),  # type: ignore[arg-type]
            interpolation=str(data.get("interpolation", "bilinear")),
            extra=dict(data.get("extra", {})),
        )
        if spec.input_size < 1:
            raise ValueError(f"preprocessing.input_size must be at least 1, not {spec.input_size}")
        if spec.resize_mode not in RESIZE_MODES:
            raise ValueError(f"preprocessing.resize_mode must be one of {', '.join(RESIZE_MODES)}")
        if spec.resize_mode == "center_crop" and spec.resize_size < 1:
            raise ValueError(f"preprocessing.resize_size must be at least 1, not {spec.resize_size}")
        if spec.interpolation not in _RESAMPLE:
            raise ValueError(f"preprocessing.interpolation must be one of {', '.join(_RESAMPLE)}")
        if len(spec.mean) != 3 or not all(math.isfinite(m) for m in spec.mean):
            raise ValueError("preprocessing.mean must be three finite numbers (R, G, B)")
        if len(spec.std) != 3 or not all(math.isfinite(s) and s > 0 for s in spec.std):
            raise ValueError("preprocessing.std must be three finite numbers above 0 (R, G, B)")
        return spec

    def decode_hint(self) -> int:
        """Smallest side the decoder must deliver so resizing never upsamples needlessly."""
        return self.resize_size if self.resize_mode == "center_crop" else self.input_size


_RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}


def resize_for_model(image: Image.Image, spec: PreprocessSpec) -> Image.Image:
    """Geometric part of preprocessing: returns an ``input_size`` square RGB image."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    size = spec.input_size
    resample = _RESAMPLE[spec.interpolation]
    if spec.resize_mode == "squash":
        return image.resize((size, size), resample, reducing_gap=None)
    if spec.resize_mode == "center_crop":
        # Only the kept square is resampled (Pillow's ``box``: its source region, whose neighbours
        # still feed the filter). Resizing the whole picture first then cropping made a 1x20000 strip
        # a 256x5,120,000 intermediate (5 GB) for one request.
        w, h = image.size
        scale = spec.resize_size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        left, top = (nw - size) // 2, (nh - size) // 2
        sx, sy = w / nw, h / nh
        box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
        return image.resize((size, size), resample, box=box)
    if spec.resize_mode == "letterbox":
        w, h = image.size
        scale = size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        resized = image.resize((nw, nh), resample)
        fill = tuple(round(m * 255) for m in spec.mean)
        canvas = Image.new("RGB", (size, size), fill)
        canvas.paste(resized, ((size - nw) // 2, (size - nh) // 2))
        return canvas
    raise ValueError(f"unknown resize_mode {spec.resize_mode!r}")


@functools.lru_cache(maxsize=16)
def _normalize_table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: the normalised value of every possible uint8 level, per channel.

    Computed with the same float32 operations as the direct formula, so looking values up gives
    bit-identical results while costing a third of the arithmetic (it runs once per served image).
    """
    mean_255 = np.asarray(mean, dtype=np.float32) * 255.0
    inv_std = 1.0 / (np.asarray(std, dtype=np.float32) * 255.0)
    levels = np.arange(256, dtype=np.float32)
    table = (levels[None, :] - mean_255[:, None]) * inv_std[:, None]
    table.flags.writeable = False
    return table


def normalize(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 HWC RGB -> float32 CHW, scaled to [0, 1] then standardised by mean/std."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected uint8 HxWx3 pixels, got {pixels.dtype} {pixels.shape}")
    table = _normalize_table(tuple(spec.mean), tuple(spec.std))
    out = np.empty((3, pixels.shape[0], pixels.shape[1]), dtype=np.float32)
    for channel in range(3):
        np.take(table[channel], pixels[:, :, channel], out=out[channel])
    return out


def preprocess(image: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """PIL image -> float32 array of shape (3, input_size, input_size), ready for the model."""
    resized = resize_for_model(image, spec)
    return normalize(np.asarray(resized, dtype=np.uint8), spec)


def preprocess_batch(images: Sequence[Image.Image], spec: PreprocessSpec) -> np.ndarray:
    """Stack :func:`preprocess` over images into one (N, 3, S, S) float32 batch."""
    if not images:
        return np.zeros((0, 3, spec.input_size, spec.input_size), dtype=np.float32)
    return np.stack([preprocess(img, spec) for img in images])
