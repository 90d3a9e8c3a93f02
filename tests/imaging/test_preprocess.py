"""The shared preprocessing: geometry per resize mode and the exact normalisation numbers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from capsight.imaging.preprocess import (
    PreprocessSpec,
    normalize,
    preprocess,
    preprocess_batch,
    resize_for_model,
)


def _direct_formula(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """The textbook definition the lookup table must reproduce: ((x / 255) - mean) / std, CHW."""
    scaled = pixels.astype(np.float64) / 255.0
    out = (scaled - np.asarray(spec.mean)) / np.asarray(spec.std)
    return out.transpose(2, 0, 1)


@pytest.mark.parametrize(
    "spec",
    [
        PreprocessSpec(input_size=16),
        PreprocessSpec(input_size=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.125)),
    ],
)
def test_normalize_matches_the_formula_for_every_uint8_level(spec: PreprocessSpec) -> None:
    levels = np.arange(256, dtype=np.uint8)
    pixels = np.stack([levels, levels[::-1], np.roll(levels, 77)], axis=-1).reshape(16, 16, 3)

    out = normalize(pixels, spec)

    assert out.dtype == np.float32
    assert out.shape == (3, 16, 16)
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, _direct_formula(pixels, spec), rtol=0, atol=1e-5)


def test_normalize_keeps_channels_apart() -> None:
    spec = PreprocessSpec(input_size=2)
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[..., 0] = 255  # pure red

    out = normalize(pixels, spec)

    assert out[0, 0, 0] == pytest.approx((1.0 - spec.mean[0]) / spec.std[0], abs=1e-5)
    assert out[1, 0, 0] == pytest.approx((0.0 - spec.mean[1]) / spec.std[1], abs=1e-5)
    assert out[2, 0, 0] == pytest.approx((0.0 - spec.mean[2]) / spec.std[2], abs=1e-5)


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((4, 4, 3), dtype=np.float32), np.zeros((4, 4), dtype=np.uint8), np.zeros((4, 4, 4), np.uint8)],
)
def test_normalize_refuses_anything_but_uint8_rgb(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        normalize(pixels, PreprocessSpec(input_size=4))


@pytest.mark.parametrize("mode", ["squash", "center_crop", "letterbox"])
def test_every_resize_mode_gives_the_model_square(mode: str) -> None:
    spec = PreprocessSpec(input_size=32, resize_mode=mode, resize_size=40)  # type: ignore[arg-type]
    image = Image.new("RGB", (90, 30), (10, 200, 30))

    resized = resize_for_model(image, spec)

    assert resized.size == (32, 32)
    assert preprocess(image, spec).shape == (3, 32, 32)


def test_letterbox_pads_with_the_mean_colour() -> None:
    spec = PreprocessSpec(input_size=20, resize_mode="letterbox")
    resized = np.asarray(resize_for_model(Image.new("RGB", (40, 10), (255, 0, 0)), spec))

    top_left = resized[0, 0]
    assert tuple(int(v) for v in top_left) == tuple(round(m * 255) for m in spec.mean)
    assert tuple(int(v) for v in resized[10, 10]) == (255, 0, 0)


def test_squash_keeps_the_whole_picture() -> None:
    """A cap at the very edge of a wide photo must survive (a centre crop would cut it away)."""
    image = Image.new("RGB", (100, 20), (0, 0, 0))
    image.paste((255, 255, 255), (90, 0, 100, 20))  # white strip at the right edge
    resized = np.asarray(resize_for_model(image, PreprocessSpec(input_size=20)))
    assert resized[:, -1].mean() > 200


def test_preprocess_batch_stacks_and_handles_empty() -> None:
    spec = PreprocessSpec(input_size=8)
    images = [Image.new("RGB", (10, 12), (i * 40, 0, 0)) for i in range(3)]

    batch = preprocess_batch(images, spec)

    assert batch.shape == (3, 3, 8, 8)
    np.testing.assert_array_equal(batch[1], preprocess(images[1], spec))
    assert preprocess_batch([], spec).shape == (0, 3, 8, 8)


def test_grey_input_is_converted_before_resizing() -> None:
    spec = PreprocessSpec(input_size=8)
    grey = Image.new("L", (10, 10), 128)
    out = preprocess(grey, spec)
    assert out.shape == (3, 8, 8)
    expected = [(128 / 255 - m) / s for m, s in zip(spec.mean, spec.std, strict=True)]
    np.testing.assert_allclose(out[:, 0, 0], expected, atol=1e-5)


def _resize_then_crop(image: Image.Image, spec: PreprocessSpec) -> Image.Image:
    """The whole-picture-first centre crop (what the box resize must agree with, to a rounding)."""
    w, h = image.size
    scale = spec.resize_size / min(w, h)
    nw, nh = max(spec.input_size, round(w * scale)), max(spec.input_size, round(h * scale))
    left, top = (nw - spec.input_size) // 2, (nh - spec.input_size) // 2
    resized = image.resize((nw, nh), Image.Resampling.BILINEAR)
    return resized.crop((left, top, left + spec.input_size, top + spec.input_size))


@pytest.mark.parametrize("size", [(640, 480), (333, 1000), (100, 90)])
def test_center_crop_agrees_with_resizing_the_whole_picture_first(size: tuple[int, int]) -> None:
    spec = PreprocessSpec(input_size=56, resize_mode="center_crop", resize_size=64)
    pixels = np.random.default_rng(5).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    got = np.asarray(resize_for_model(image, spec)).astype(int)
    want = np.asarray(_resize_then_crop(image, spec)).astype(int)
    assert np.abs(got - want).max() <= 1  # float rounding of the filter centres, nothing more


_STRIP_SCRIPT = """
import resource
from PIL import Image
from capsight.imaging.preprocess import PreprocessSpec, preprocess
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
spec = PreprocessSpec(input_size=224, resize_mode="center_crop", resize_size=256)
out = preprocess(Image.new("RGB", (1, 20_000), (200, 20, 20)), spec)
print(out.shape)
"""


def test_center_crop_of_a_thin_strip_does_not_resize_the_whole_strip() -> None:
    """A 1x20000 upload once became a 256x5,120,000 intermediate (over 5 GB) before the crop. Run
    under a 1.5 GB address-space limit in a child process, so the old way fails without hurting the suite."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _STRIP_SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(3, 224, 224)"
