"""Compositing: output size and mode, the object really in the picture, cuts hidden, determinism."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from capsight.training.dataprep.composite import CompositeParams, compose, crop_scene
from capsight.training.dataprep.cutout import Cutout

PARAMS = CompositeParams(output_long_side=200, shadow_probability=0.0, blur_probability=0.0, max_noise=0.0)


def _red_bottle(contact_bottom: bool = False) -> Cutout:
    image = Image.new("RGBA", (40, 120), (0, 0, 0, 0))
    image.paste((230, 20, 20, 255), (0, 0, 40, 120))
    contact = Image.new("L", image.size, 0)
    if contact_bottom:
        contact.paste(255, (0, 118, 40, 120))
    return Cutout(image=image, contact=contact)


def _grey_scene(size: tuple[int, int] = (400, 300)) -> Image.Image:
    return Image.new("RGB", size, (90, 130, 90))


def _red(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image).astype(int)
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 110)


@pytest.mark.parametrize("seed", range(6))
def test_output_is_rgb_at_the_requested_size_with_the_object_in_it(seed: int) -> None:
    result = compose(_red_bottle(), _grey_scene(), np.random.default_rng(seed), PARAMS)
    assert result.image.mode == "RGB"
    assert max(result.image.size) == 200
    assert 0.75 <= result.image.width / result.image.height <= 4 / 3 + 0.01
    red = _red(result.image)
    rows = np.nonzero(red.any(axis=1))[0]
    extent = (rows.max() - rows.min() + 1) / result.image.height
    if result.placement["lying"]:
        cols = np.nonzero(red.any(axis=0))[0]
        extent = (cols.max() - cols.min() + 1) / result.image.width
    assert 0.25 <= extent <= 0.95  # 30-90% of the frame, give or take the tilt and the colour match
    assert result.placement["cut_hidden_at"] is None
    assert 60 <= result.jpeg_quality <= 95


@pytest.mark.parametrize("seed", range(6))
def test_cut_side_is_pushed_past_the_frame(seed: int) -> None:
    result = compose(_red_bottle(contact_bottom=True), _grey_scene(), np.random.default_rng(seed), PARAMS)
    edge = result.placement["cut_hidden_at"]
    red = _red(result.image)
    border = {"bottom": red[-1, :], "top": red[0, :], "left": red[:, 0], "right": red[:, -1]}[edge]
    assert border.any()  # the object runs off the frame on the side of its cut
    assert result.placement["visible_share"] >= PARAMS.min_visible


def test_same_seed_same_picture_other_seed_other_picture() -> None:
    params = CompositeParams(output_long_side=160)
    first = compose(_red_bottle(), _grey_scene(), np.random.default_rng(7), params)
    again = compose(_red_bottle(), _grey_scene(), np.random.default_rng(7), params)
    other = compose(_red_bottle(), _grey_scene(), np.random.default_rng(8), params)
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert first.placement == again.placement
    assert not np.array_equal(np.asarray(first.image), np.asarray(other.image))


def test_brightness_moves_towards_a_dark_scene() -> None:
    dark = Image.new("RGB", (300, 300), (25, 25, 25))
    params = CompositeParams(output_long_side=200, shadow_probability=0, blur_probability=0, max_noise=0)
    white = Cutout(
        image=Image.new("RGBA", (40, 120), (250, 250, 250, 255)), contact=Image.new("L", (40, 120), 0)
    )
    result = compose(white, dark, np.random.default_rng(1), params)
    brightest = np.asarray(result.image).max()
    assert 120 < brightest < 245  # darkened, but still a light object


def test_save_writes_a_jpeg_at_the_drawn_quality(tmp_path: Path) -> None:
    result = compose(_red_bottle(), _grey_scene(), np.random.default_rng(3), PARAMS)
    path = tmp_path / "x__crop-synth0.jpg"
    result.save(path)
    with Image.open(path) as saved:
        assert saved.format == "JPEG"
        assert saved.size == result.image.size
    lower = io.BytesIO()
    result.image.save(lower, format="JPEG", quality=max(10, result.jpeg_quality - 40))
    assert path.stat().st_size > len(lower.getvalue())


def test_scene_crop_keeps_aspect_within_bounds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        crop = crop_scene(_grey_scene((1000, 200)), rng, PARAMS)
        assert max(crop.size) == 200
