"""Cut-outs from a light board: accurate masks, and failures rejected instead of pasted."""

from __future__ import annotations

import numpy as np
import pytest
from dataprep_fakes import board_photo, bottle_mask, scene_photo
from PIL import Image

from capsight.training.dataprep.maskcheck import check_mask, convex_hull_mask, solidity, touched_borders
from capsight.training.dataprep.segment import SegmentationRejected, cut_out, segment_mask

SIZE = (192, 256)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("angle", [0, 35, 90, -120])
@pytest.mark.parametrize(
    "colour", [(40, 110, 50), (120, 70, 30), (70, 120, 200)], ids=["green", "brown", "blue"]
)
def test_mask_matches_ground_truth_on_uneven_board(angle: int, colour: tuple[int, int, int]) -> None:
    truth = bottle_mask(SIZE, angle=angle)
    predicted = segment_mask(board_photo(truth, colour=colour, seed=abs(angle) + 1))
    assert _iou(predicted, truth) > 0.8
    assert check_mask(predicted) is None


def test_object_cut_by_the_frame_is_segmented_and_marked() -> None:
    truth = bottle_mask(SIZE, offset_y=0.3)  # body runs off the bottom of the photo
    assert truth[-1].any()
    item = cut_out(board_photo(truth, seed=3))
    alpha = item.alpha()
    points = item.contact_points()
    assert len(points) > 0
    assert points[:, 1].min() >= alpha.shape[0] - 3  # contact lies on the cut-out's bottom rows
    assert _iou(segment_mask(board_photo(truth, seed=3)), truth) > 0.8


def test_cut_out_is_rgba_cropped_with_soft_edge() -> None:
    truth = bottle_mask(SIZE, angle=20)
    item = cut_out(board_photo(truth, seed=4))
    ys, xs = np.nonzero(truth)
    assert item.image.mode == "RGBA"
    assert abs(item.size[0] - (xs.max() - xs.min() + 1)) <= 6
    assert abs(item.size[1] - (ys.max() - ys.min() + 1)) <= 6
    alpha = item.alpha()
    assert alpha.max() == 255
    assert ((alpha > 0) & (alpha < 255)).any()  # feathered, not a hard stencil
    assert len(item.contact_points()) == 0


def test_empty_board_is_rejected() -> None:
    with pytest.raises(SegmentationRejected, match="item not found"):
        cut_out(board_photo(np.zeros((SIZE[1], SIZE[0]), dtype=bool)))


def test_object_as_light_as_the_board_is_rejected_not_half_pasted() -> None:
    with pytest.raises(SegmentationRejected):
        cut_out(board_photo(bottle_mask(SIZE, angle=35), colour=(222, 218, 212)))


def test_busy_photo_without_a_board_is_rejected() -> None:
    with pytest.raises(SegmentationRejected):
        cut_out(scene_photo(SIZE, seed=5))


def _blank(h: int = 100, w: int = 80) -> np.ndarray:
    return np.zeros((h, w), dtype=bool)


def test_check_mask_accepts_a_solid_centred_object() -> None:
    mask = _blank()
    mask[20:80, 25:55] = True
    assert check_mask(mask) is None


@pytest.mark.parametrize(
    ("paint", "reason"),
    [
        (lambda m: m.__setitem__((slice(45, 50), slice(38, 42)), True), "item not found"),
        (lambda m: m.__setitem__((slice(0, 100), slice(0, 79)), True), "board not found"),
        (lambda m: [m.__setitem__((slice(0, 100), slice(c, c + 1)), True) for c in (0, 79)]
         + [m.__setitem__((slice(r, r + 1), slice(0, 80)), True) for r in (0, 99)]
         + [m.__setitem__((slice(0, 100), slice(30, 50)), True)], "all four borders"),
        (lambda m: m.__setitem__((slice(75, 100), slice(55, 80)), True), "central third"),
        (lambda m: [m.__setitem__((slice(10, 90), slice(c, c + 3)), True) for c in range(20, 60, 9)]
         + [m.__setitem__((slice(10, 13), slice(20, 60)), True)], "ragged"),
    ],
    ids=["tiny", "huge", "all-borders", "off-centre", "ragged"],
)  # fmt: skip
def test_check_mask_rejects_implausible_masks(paint: object, reason: str) -> None:
    mask = _blank()
    paint(mask)  # type: ignore[operator]
    found = check_mask(mask)
    assert found is not None and reason in found


def test_mask_geometry_helpers() -> None:
    mask = _blank()
    mask[10:30, 0:20] = True
    assert touched_borders(mask) == frozenset({"left"})
    assert solidity(mask) == pytest.approx(1.0, abs=0.05)
    triangle = np.tril(np.ones((50, 50), dtype=bool))
    assert abs(int(convex_hull_mask(triangle).sum()) - int(triangle.sum())) < 0.08 * triangle.sum()
    ring = _blank()
    ring[20:80, 20:60] = True
    ring[30:70, 30:50] = False
    assert solidity(ring) == pytest.approx(1 - (40 * 20) / (60 * 40), abs=0.05)
    assert solidity(_blank()) == 0.0
    assert not convex_hull_mask(_blank()).any()


def test_segmentation_is_deterministic() -> None:
    photo = board_photo(bottle_mask(SIZE, angle=10), seed=9)
    assert np.array_equal(segment_mask(photo), segment_mask(photo.copy()))
    assert isinstance(cut_out(photo).image, Image.Image)
