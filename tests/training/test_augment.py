from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from training_data import shape_image

from capsight.training.augment import (
    AUGMENT_PRESETS,
    NO_AUGMENT,
    STRONG_AUGMENT,
    AugmentConfig,
    augment,
    random_resized_crop,
)

ALWAYS = AugmentConfig(blur_p=1.0, noise_p=1.0, jpeg_p=1.0, hflip=1.0, grayscale_p=1.0)


def photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    return shape_image("circle", np.random.default_rng(0), size=96).resize(size)


@pytest.mark.parametrize(
    "cfg", [AugmentConfig(), STRONG_AUGMENT, ALWAYS], ids=["default", "strong", "every-step"]
)
@pytest.mark.parametrize("size", [(96, 64), (31, 57)])
def test_keeps_size_and_mode(cfg: AugmentConfig, size: tuple[int, int]) -> None:
    image = photo(size)
    for seed in range(5):
        out = augment(image, cfg, np.random.default_rng(seed), model_size=32)
        assert out.size == size
        assert out.mode == "RGB"


def test_converts_other_modes_to_rgb() -> None:
    grey = photo().convert("L")
    out = augment(grey, ALWAYS, np.random.default_rng(0))
    assert (out.mode, out.size) == ("RGB", grey.size)


def test_seeded_and_varied() -> None:
    image = photo()
    first = np.asarray(augment(image, ALWAYS, np.random.default_rng(42)))
    again = np.asarray(augment(image, ALWAYS, np.random.default_rng(42)))
    other = np.asarray(augment(image, ALWAYS, np.random.default_rng(43)))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.asarray(image))


def test_no_augment_is_identity() -> None:
    image = photo()
    out = augment(image, NO_AUGMENT, np.random.default_rng(0))
    assert np.array_equal(np.asarray(out), np.asarray(image))


def test_crop_keeps_most_of_the_picture() -> None:
    # A white frame one pixel wide: a crop that keeps >= 70% of the area can lose at most a strip.
    base = np.zeros((100, 100, 3), dtype=np.uint8)
    base[45:55, 45:55] = 255  # the "object" in the middle
    image = Image.fromarray(base)
    for seed in range(20):
        out = np.asarray(random_resized_crop(image, (0.7, 1.0), (3 / 4, 4 / 3), np.random.default_rng(seed)))
        assert out.shape == (100, 100, 3)
        assert out.max() == 255  # the centred object is never cropped away


def test_settings_are_recorded_as_plain_json() -> None:
    data = AugmentConfig().to_dict()
    assert data["rotate_degrees"] == 10.0
    assert data["crop_scale"] == [0.7, 1.0]


def test_grayscale_step_removes_colour() -> None:
    image = Image.new("RGB", (40, 30), (200, 40, 10))
    cfg = AugmentConfig(
        crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), hflip=0.0, rotate_degrees=0.0, grayscale_p=1.0
    )
    out = np.asarray(augment(image, cfg, np.random.default_rng(0))).astype(int)
    assert out.shape == (30, 40, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    without = np.asarray(
        augment(image, AugmentConfig(**{**cfg.__dict__, "grayscale_p": 0.0}), np.random.default_rng(0))
    )
    assert not np.array_equal(without[..., 0], without[..., 1])


def test_presets_are_named_configs() -> None:
    assert AUGMENT_PRESETS["default"] == AugmentConfig()
    assert AUGMENT_PRESETS["strong"].grayscale_p > 0
    assert AUGMENT_PRESETS["strong"].crop_scale == AugmentConfig().crop_scale  # the cap stays in the crop
