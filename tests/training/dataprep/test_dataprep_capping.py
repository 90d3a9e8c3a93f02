"""Capped twins: a drawn cap on the lip of an upright open bottle, and nothing where there is no lip."""

from __future__ import annotations

import numpy as np
import pytest
from dataprep_fakes import bottle_mask
from PIL import Image, ImageDraw

from capsight.training.dataprep.capping import CAP_COLOURS, add_cap, find_mouth
from capsight.training.dataprep.cutout import Cutout

SIZE = (192, 256)
GLASS = (40, 110, 50)


def _cutout(mask: np.ndarray, colour: tuple[int, int, int] = GLASS) -> Cutout:
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (*colour, 255)
    image = Image.fromarray(rgba, "RGBA")
    box = image.getchannel("A").getbbox()
    assert box is not None
    contact = Image.new("L", image.size, 0)
    contact.paste(255, (box[0], box[3] - 2, box[2], box[3]))  # cut by the frame at its base
    return Cutout(image=image.crop(box), contact=contact.crop(box))


def test_finds_the_lip_of_an_upright_bottle() -> None:
    mask = bottle_mask(SIZE)
    mouth = find_mouth(_cutout(mask).alpha())
    assert mouth is not None
    lip_width = mask[np.nonzero(mask.any(axis=1))[0][0]].sum()
    assert mouth.top == 0
    assert abs(mouth.width - lip_width) <= 2
    assert mouth.width < 0.55 * mouth.body_width
    assert abs(mouth.centre - _cutout(mask).size[0] / 2) <= 2


@pytest.mark.parametrize("shape", ["disc", "lying", "jar"])
def test_no_lip_no_mouth(shape: str) -> None:
    if shape == "disc":
        canvas = Image.new("L", (120, 120), 0)
        ImageDraw.Draw(canvas).ellipse((10, 10, 110, 110), fill=255)
        mask = np.asarray(canvas) > 127
    elif shape == "lying":
        mask = bottle_mask(SIZE, angle=90)
    else:  # a jar: as wide at the top as in the body
        mask = np.zeros((200, 120), dtype=bool)
        mask[20:190, 20:100] = True
    assert find_mouth(_cutout(mask).alpha()) is None
    assert add_cap(_cutout(mask), np.random.default_rng(0)) is None


@pytest.mark.parametrize("seed", range(6))
def test_cap_sits_on_the_lip_and_leaves_the_body_alone(seed: int) -> None:
    item = _cutout(bottle_mask(SIZE))
    result = add_cap(item, np.random.default_rng(seed))
    assert result is not None
    capped, info = result
    rise = capped.size[1] - item.size[1]
    assert capped.size[0] == item.size[0] and rise >= 0
    before, after = np.asarray(item.image), np.asarray(capped.image)
    # below the cap, every pixel of the bottle is untouched (shifted down by the rows added on top)
    cap_bottom = rise + round(info["cap_px"][1])
    assert np.array_equal(after[cap_bottom:], before[cap_bottom - rise :])
    # the cap is opaque, wider than the lip, and not the bottle's colour
    top_rows = after[: cap_bottom - 1]
    solid = top_rows[..., 3] > 200
    assert solid.any(axis=1).sum() >= 2
    mouth = find_mouth(item.alpha())
    assert mouth is not None
    assert solid.sum(axis=1).max() > mouth.width
    colours = top_rows[solid][:, :3].astype(float)
    assert np.abs(colours.mean(axis=0) - GLASS).max() > 20
    assert info["kind"] in {"crown", "screw"} and info["colour"] in {n for n, _ in CAP_COLOURS}
    # the frame-cut marks move down with the bottle
    assert np.array_equal(np.asarray(capped.contact)[rise:], np.asarray(item.contact))


def test_same_seed_same_cap() -> None:
    item = _cutout(bottle_mask(SIZE))
    a = add_cap(item, np.random.default_rng(3))
    b = add_cap(item, np.random.default_rng(3))
    assert a is not None and b is not None
    assert a[1] == b[1] and np.array_equal(np.asarray(a[0].image), np.asarray(b[0].image))
