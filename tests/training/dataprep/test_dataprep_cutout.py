"""Geometry of cut-outs: standing bottles up neck first, and carrying the frame-cut marks along."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataprep_fakes import board_photo, bottle_mask
from PIL import Image

from capsight.training.dataprep import cutout as geometry
from capsight.training.dataprep.cutout import Cutout
from capsight.training.dataprep.segment import cut_out

SIZE = (192, 256)


def _neck_width_ratio(item: Cutout) -> float:
    """Mean width of the top quarter over the bottom quarter (neck up -> well below 1)."""
    alpha = item.alpha() > 127
    widths = alpha.sum(axis=1)
    quarter = alpha.shape[0] // 4
    top, bottom = widths[:quarter], widths[-quarter:]
    return float(top[top > 0].mean() / bottom[bottom > 0].mean())


@pytest.mark.parametrize("angle", [90, -90, 180, 135, -30])
def test_upright_stands_the_bottle_neck_up(angle: int) -> None:
    item = cut_out(board_photo(bottle_mask(SIZE, angle=angle), seed=abs(angle)))
    standing = geometry.upright(item)
    assert standing.size[1] > standing.size[0]
    assert _neck_width_ratio(standing) < 0.7


def test_upright_leaves_round_objects_alone() -> None:
    disc = Image.new("RGBA", (60, 64), (0, 0, 0, 0))
    disc.paste((200, 30, 30, 255), (0, 0, 60, 64), Image.new("L", (60, 64), 255))
    item = Cutout(image=disc, contact=Image.new("L", (60, 64), 0))
    assert geometry.upright(item) is item


def test_cut_at_the_body_ends_at_the_bottom_after_uprighting() -> None:
    # A bottle lying on its side whose body runs off the right edge of the photo.
    mask = bottle_mask((256, 192), angle=90, scale=1.3)  # neck pointing left
    mask = np.roll(mask, 60, axis=1)
    mask[:, :70] = False  # drop what the roll wrapped around
    item = cut_out(board_photo(mask, seed=2))
    assert len(item.contact_points()) > 0
    standing = geometry.upright(item)
    points = standing.contact_points()
    assert len(points) > 0
    assert points[:, 1].mean() > 0.8 * standing.size[1]


def test_cut_on_the_neck_half_is_not_marked_for_hiding() -> None:
    # Neck runs off the top of the photo: hiding that cut would hide the cap.
    mask = bottle_mask(SIZE, offset_y=-0.2)
    assert mask[0].any()
    standing = geometry.upright(cut_out(board_photo(mask, seed=6)))
    assert len(standing.contact_points()) == 0


def test_transforms_keep_image_and_contact_aligned() -> None:
    image = Image.new("RGBA", (40, 100), (10, 200, 10, 255))
    contact = Image.new("L", (40, 100), 0)
    contact.paste(255, (0, 97, 40, 100))
    item = Cutout(image=image, contact=contact)
    turned = geometry.rotate(item, 90)  # counter-clockwise: the bottom row goes to the right side
    assert turned.size == (100, 40)
    assert turned.contact_points()[:, 0].min() >= 96
    flipped = geometry.flip_horizontal(turned)
    assert flipped.contact_points()[:, 0].max() <= 3
    half = geometry.scale(flipped, 0.5)
    assert half.size == (50, 20) and half.contact.size == half.size


def test_rotation_does_not_bleed_hidden_colour_into_the_edge() -> None:
    # Transparent pixels hide pure white (the board); the object is dark red.
    rgba = np.zeros((60, 60, 4), dtype=np.uint8)
    rgba[..., :3] = 255
    rgba[15:45, 15:45] = (120, 0, 0, 255)
    item = Cutout(image=Image.fromarray(rgba, "RGBA"), contact=Image.new("L", (60, 60), 0))
    turned = np.asarray(geometry.rotate(item, 30).image).astype(int)
    edge = (turned[..., 3] > 20) & (turned[..., 3] < 235)
    assert edge.any()
    assert turned[edge][:, 1].max() < 40  # a white fringe would show up as green > 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    item = cut_out(board_photo(bottle_mask(SIZE, offset_y=0.3), seed=8))
    geometry.save(item, tmp_path / "a.rf.b")  # dots in the stem must not be taken as a suffix
    loaded = geometry.load(tmp_path / "a.rf.b")
    assert np.array_equal(np.asarray(loaded.image), np.asarray(item.image))
    assert np.array_equal(np.asarray(loaded.contact), np.asarray(item.contact))
