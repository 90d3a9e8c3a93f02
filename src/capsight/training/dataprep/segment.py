"""Cut an object out of a studio photo taken on a near-uniform light board (TrashNet style).

Why this approach and not a learned segmenter: nothing may be downloaded at run time, and the board
is plain enough that a per-pixel difference from a *modelled* board does the job. The board is not
flat in colour (warm lamp light on one side, blue shadows on the other), so its colour is fitted as
a smooth quadratic surface per channel, first from the photo's border, then refitted from every
pixel judged to be board. A pixel is object when it differs clearly in colour or brightness from
that surface or sits on a sharp edge; a weaker, textured difference counts near such evidence
(clear glass barely differs in colour from the board, but its outline and highlights are sharp,
while a shadow is a smooth darkening). Morphology closes the outline, holes are filled (also where
the object runs off the frame), the largest component wins, and the region is cut to the convex
hull of its sharp edges: light through coloured glass tints the board around it in a soft halo
that has no sharp edges. The alpha edge is eroded by a pixel and feathered so no board is pasted.

Implausible masks are rejected (see maskcheck.py) rather than pasted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from capsight.training.dataprep.cutout import Cutout
from capsight.training.dataprep.maskcheck import check_mask, convex_hull_mask


class SegmentationRejected(ValueError):
    """The mask is implausible for a single object on a board; the photo is not used for pasting."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SegmentParams:
    """Thresholds on the difference from the fitted board (0..1 colour scale)."""

    chroma_threshold: float = 0.045  # distance of normalised rgb (r, g, b)/(r + g + b)
    dark_ratio: float = 0.55  # luminance / board luminance below this -> object (shadows are ~0.6-0.9)
    bright_ratio: float = 1.18  # highlights brighter than the board
    edge_threshold: float = 0.08  # Sobel magnitude of the luminance ratio
    weak_brightness: float = 0.07  # weak evidence: brightness off the board by this much (textured)
    weak_reach: float = 0.04  # weak evidence counts within this fraction of the shorter side of strong
    speck_fraction: float = 0.0005  # evidence blobs smaller than this (of the photo) are board texture
    close_fraction: float = 0.025  # closing radius as a fraction of the shorter side
    feather_px: float = 1.5


def _quadratic_design(ys: np.ndarray, xs: np.ndarray, height: int, width: int) -> np.ndarray:
    y = ys.astype(np.float64) / max(height - 1, 1) - 0.5
    x = xs.astype(np.float64) / max(width - 1, 1) - 0.5
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _fit_board(rgb: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Least-squares quadratic surface per channel through the pixels where ``sample`` is True."""
    height, width, _ = rgb.shape
    ys, xs = np.nonzero(sample)
    if ys.size > 20_000:  # a regular subsample is plenty for six coefficients
        step = ys.size // 20_000 + 1
        ys, xs = ys[::step], xs[::step]
    design = _quadratic_design(ys, xs, height, width)
    coef, *_ = np.linalg.lstsq(design, rgb[ys, xs, :].astype(np.float64), rcond=None)
    # Evaluate on the grid by broadcasting the six terms (no H*W x 6 design matrix).
    y = (np.arange(height, dtype=np.float64) / max(height - 1, 1) - 0.5)[:, None, None]
    x = (np.arange(width, dtype=np.float64) / max(width - 1, 1) - 0.5)[None, :, None]
    full = coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * x * y + coef[5] * y * y
    return np.clip(full, 1e-3, 1.0).astype(np.float32)


def _border_band(height: int, width: int) -> np.ndarray:
    band = max(2, round(0.04 * min(height, width)))
    sample = np.zeros((height, width), dtype=bool)
    sample[:band, :] = sample[-band:, :] = True
    sample[:, :band] = sample[:, -band:] = True
    return sample


def _object_evidence(
    rgb: np.ndarray, board: np.ndarray, params: SegmentParams
) -> tuple[np.ndarray, np.ndarray]:
    """(object evidence, edge strength). Evidence: strong, plus weak evidence close to strong.

    Strong: a clear colour or brightness difference, or a sharp edge. Weak: a smaller difference
    that is textured (glass interiors, labels); smooth darkening without texture is shadow.
    """
    lum = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    board_lum = board @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    ratio = lum / board_lum
    chroma = rgb / np.maximum(rgb.sum(axis=2, keepdims=True), 1e-3)
    board_chroma = board / np.maximum(board.sum(axis=2, keepdims=True), 1e-3)
    # Chroma is meaningless in near-black pixels; those are caught by the darkness test instead.
    chroma_dist = np.linalg.norm(chroma - board_chroma, axis=2) * (lum > 0.08)
    smooth = ndimage.gaussian_filter(ratio, 1.0)
    edges = np.hypot(ndimage.sobel(smooth, axis=0), ndimage.sobel(smooth, axis=1)) / 4.0
    strong = (
        (chroma_dist > params.chroma_threshold)
        | (ratio < params.dark_ratio)
        | (ratio > params.bright_ratio)
        | (edges > params.edge_threshold)
    )
    texture = ndimage.maximum_filter(edges, size=7)
    weak = (
        (chroma_dist > 0.5 * params.chroma_threshold)
        | (ratio > 1.0 + params.weak_brightness)
        | ((ratio < 1.0 - params.weak_brightness) & (texture > 0.5 * params.edge_threshold))
    ) | strong
    near_strong = ndimage.distance_transform_edt(~strong) <= params.weak_reach * min(ratio.shape)
    return np.asarray(strong | (weak & near_strong)), edges


def _drop_specks(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Remove small blobs (dust, board grain) but keep thin lines: clear glass is mostly outline."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    return np.asarray(keep[labels])


def _fill_holes_through_border(mask: np.ndarray) -> np.ndarray:
    """Fill holes, also those opening onto the frame between two parts of the object.

    A bottle cut by the frame leaves its clear interior connected to the border, so ordinary hole
    filling misses it. A non-object region counts as a hole when most of its outline is object and
    little of it is frame (true board regions run along the frame).
    """
    filled = ndimage.binary_fill_holes(mask)
    labels, count = ndimage.label(~filled)
    if count <= 1:
        return filled
    frame = np.zeros_like(mask)
    frame[0, :] = frame[-1, :] = frame[:, 0] = frame[:, -1] = True
    next_to_object = ndimage.binary_dilation(filled) & ~filled
    frame_len = np.bincount(labels[frame], minlength=count + 1)
    object_len = np.bincount(labels[next_to_object], minlength=count + 1)
    area = np.bincount(labels.ravel(), minlength=count + 1)
    largest = int(np.argmax(area[1:])) + 1
    for region in range(1, count + 1):
        if region == largest:
            continue
        if frame_len[region] < 0.25 * (frame_len[region] + object_len[region]):
            filled |= labels == region
    return filled


def segment_mask(image: Image.Image, params: SegmentParams | None = None) -> np.ndarray:
    """Boolean object mask of an RGB photo of one object on a light board.

    The region of any difference from the board finds clear glass too, but light passing through
    coloured glass or plastic tints the board around the object, growing a soft halo. The halo has
    no sharp edges, so the region is cut to the convex hull of the sharp edges inside it.
    """
    params = params or SegmentParams()
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    height, width, _ = rgb.shape
    band = _border_band(height, width)
    median = np.median(rgb[band], axis=0)
    # Border pixels far from the median colour belong to an object running off the frame.
    near = np.linalg.norm(rgb - median, axis=2) < 0.12
    board = _fit_board(rgb, band & near if (band & near).sum() > 50 else band)
    evidence, edge_strength = _object_evidence(rgb, board, params)
    board_pixels = ~ndimage.binary_dilation(evidence, iterations=3)
    if board_pixels.sum() > 0.05 * height * width:
        board = _fit_board(rgb, board_pixels)
        evidence, edge_strength = _object_evidence(rgb, board, params)
    edges = edge_strength > params.edge_threshold
    region = _region(evidence, params)
    # Trim the halo: keep the region only inside the convex hull of its sharp edges.
    sharp = _drop_specks(region & edges, max(20, round(params.speck_fraction * height * width)))
    trimmed = region & convex_hull_mask(sharp)
    mask = _largest(trimmed) if trimmed.any() else region
    # The edge response (smoothing + Sobel) reaches a pixel or two past the true outline.
    eroded = ndimage.binary_erosion(mask, iterations=1)
    return np.asarray(eroded if eroded.any() else mask)


def _region(evidence: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Evidence pixels -> one solid region: drop specks, close gaps, fill holes, keep the largest."""
    height, width = evidence.shape
    evidence = _drop_specks(evidence, max(20, round(params.speck_fraction * height * width)))
    radius = max(2, round(params.close_fraction * min(height, width)))
    padded = np.pad(evidence, radius + 1, mode="edge")  # edge padding keeps objects cut by the frame whole
    # Closing with a disk, done with two distance transforms (far faster than a 21x21 structure).
    dilated = ndimage.distance_transform_edt(~padded) <= radius
    closed = (ndimage.distance_transform_edt(dilated) > radius)[
        radius + 1 : -radius - 1, radius + 1 : -radius - 1
    ]
    filled = _fill_holes_through_border(closed)
    return _largest(filled)


def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest connected component, its outline smoothed (thin spurs from shadow edges go)."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return np.zeros_like(mask)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest = labels == int(np.argmax(sizes))
    smoothed = ndimage.binary_opening(largest, structure=_disk(2))
    return np.asarray(smoothed if smoothed.any() else largest)


def _disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return np.asarray(xx * xx + yy * yy <= radius * radius)


def cut_out(image: Image.Image, params: SegmentParams | None = None) -> Cutout:
    """Segment, validate and crop; raises SegmentationRejected for implausible masks."""
    params = params or SegmentParams()
    rgb = image.convert("RGB")
    mask = segment_mask(rgb, params)
    reason = check_mask(mask)
    if reason is not None:
        raise SegmentationRejected(reason)
    contact = np.zeros_like(mask)
    edge = 2
    contact[:edge, :] |= mask[:edge, :]
    contact[-edge:, :] |= mask[-edge:, :]
    contact[:, :edge] |= mask[:, :edge]
    contact[:, -edge:] |= mask[:, -edge:]
    alpha = Image.fromarray((ndimage.binary_erosion(mask, iterations=1) * 255).astype(np.uint8), "L")
    if params.feather_px > 0:
        alpha = alpha.filter(ImageFilter.GaussianBlur(params.feather_px))
    # Where the object runs off the frame the edge is a straight cut, not an outline: keep it hard.
    alpha_arr = np.asarray(alpha).copy()
    alpha_arr[ndimage.binary_dilation(contact, iterations=3) & mask] = 255
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(alpha_arr, "L"))
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    contact_img = Image.fromarray((contact * 255).astype(np.uint8), "L")
    return Cutout(image=rgba.crop(box), contact=contact_img.crop(box))
