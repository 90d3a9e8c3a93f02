"""Is a segmentation mask plausible for one photographed item? Reject rather than paste a bad one.

A bad cut-out does more harm than a missing one: a composite labelled `closed` that shows a shadow
or a bottle without its neck teaches the model the wrong thing. The rules, each from a failure
seen on the TrashNet photos:
- area under 3% of the photo: the item was not found (or only a label was);
- area over 90%, or touching all four borders: the board was not separated from the item;
- missing the central third: the photographer centred the item, so an off-centre mask is a
  shadow or a neighbouring thing (a jug filling the frame left only its shadow);
- solidity (area / convex hull area) under 0.82: bottles, even long-necked ones, and boxes score
  0.85-1; clear glass whose outline was found only in parts scores far lower.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

MIN_AREA_FRACTION = 0.03
MAX_AREA_FRACTION = 0.90
MIN_SOLIDITY = 0.82
BORDERS = ("top", "bottom", "left", "right")


def touched_borders(mask: np.ndarray) -> frozenset[str]:
    sides = {"top": mask[0, :], "bottom": mask[-1, :], "left": mask[:, 0], "right": mask[:, -1]}
    return frozenset(name for name, line in sides.items() if line.any())


def _hull(mask: np.ndarray) -> ConvexHull | None:
    outline = mask & ~ndimage.binary_erosion(mask)
    ys, xs = np.nonzero(outline)
    if ys.size < 3:
        return None
    try:
        return ConvexHull(np.stack([xs, ys], axis=1).astype(np.float64))
    except QhullError:  # all points on one line
        return None


def convex_hull_mask(mask: np.ndarray) -> np.ndarray:
    """Filled convex hull of the True pixels (all False when there is no 2-D hull)."""
    hull = _hull(mask)
    canvas = Image.new("L", (mask.shape[1], mask.shape[0]), 0)
    if hull is not None:
        vertices = hull.points[hull.vertices]
        ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in vertices], fill=255)
    return np.asarray(canvas) > 0


def solidity(mask: np.ndarray) -> float:
    """Mask area over its convex hull's area (0 for degenerate masks)."""
    hull = _hull(mask)
    if hull is None:
        return 0.0
    return float(min(1.0, mask.sum() / max(hull.volume, 1.0)))  # a 2-D hull's "volume" is its area


def check_mask(mask: np.ndarray) -> str | None:
    """Why a mask is implausible for one item on a board, or None when it is acceptable."""
    fraction = float(mask.mean()) if mask.size else 0.0
    if fraction < MIN_AREA_FRACTION:
        return f"mask covers {fraction:.1%} of the photo (< {MIN_AREA_FRACTION:.0%}): item not found"
    if fraction > MAX_AREA_FRACTION:
        return f"mask covers {fraction:.1%} of the photo (> {MAX_AREA_FRACTION:.0%}): board not found"
    if touched_borders(mask) == frozenset(BORDERS):
        return "mask touches all four borders: board not separated from the item"
    height, width = mask.shape
    if not mask[height // 3 : height - height // 3, width // 3 : width - width // 3].any():
        return "mask misses the central third of the photo: a shadow or a neighbouring thing"
    score = solidity(mask)
    if score < MIN_SOLIDITY:
        return f"mask is ragged (solidity {score:.2f} < {MIN_SOLIDITY}): outline found only in parts"
    return None
