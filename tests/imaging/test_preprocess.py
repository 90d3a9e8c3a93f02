"""The shared preprocessing: geometry per resize mode and the exact normalisation numbers."""

from __future__ import annotations

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
