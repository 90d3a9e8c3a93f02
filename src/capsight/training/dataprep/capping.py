"""Put a cap on an open glass bottle: the counterfactual twin the bottle photos lack.

In the shared photos glass bottles are mostly open and plastic ones mostly capped, so a model can
score well by telling glass from plastic. The composites rebalance material per label, but only
with the bottles we have. A capped twin of an open glass bottle is the same bottle, in the same
kind of scene, that differs only at the neck: the one place the label is about. Trained on both,
the model is pushed to look at the mouth instead of the material.

The cap is drawn, not photographed: a crown cap (short, wider than the lip, crimped skirt) or a
screw cap (taller, ridged), in a metallic or painted colour with cylinder shading, drawn at 4x and
scaled down so its edge is as soft as the photo's. Whether a drawn cap teaches anything that holds on
real caps is measured on real capped glass bottles the model never saw (the model card).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from capsight.training.dataprep.cutout import Cutout

# The lip must be clearly narrower than the body: jars, cups and crushed bottles get no twin.
MAX_MOUTH_TO_BODY = 0.55
# ... and sit on a neck: at 15 % of the height down the outline is at most this much wider than at
# the lip (beer necks taper, so this is loose; a lip on a sudden shoulder is a segmentation slip).
MAX_NECK_FLARE = 2.2
NECK_DEPTH = 0.15
# A bottle stood up is tall: a mouth seen from above or a lying can is not.
MIN_HEIGHT_TO_BODY = 2.0
MIN_MOUTH_PIXELS = 6
_SUPERSAMPLE = 4

# (name, RGB): crown caps are mostly gold, silver or painted; screw caps painted or aluminium.
CAP_COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("gold", (196, 160, 62)),
    ("silver", (186, 188, 192)),
    ("red", (176, 32, 36)),
    ("blue", (34, 64, 150)),
    ("green", (36, 112, 52)),
    ("black", (34, 34, 36)),
    ("white", (226, 226, 222)),
)


@dataclass(frozen=True)
class Mouth:
    top: int  # first row of the bottle (the lip), in the upright cut-out
    centre: float  # x of the lip's middle
    width: float  # lip width in pixels
    body_width: float


def find_mouth(alpha: np.ndarray) -> Mouth | None:
    """The lip of an upright bottle (neck up), or None when the top is not a narrow neck."""
    solid = alpha > 127
    rows = np.nonzero(solid.any(axis=1))[0]
    if rows.size < 20:
        return None
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    band = solid[top : top + max(2, round(0.04 * height))]
    widths = band.sum(axis=1)
    width = float(np.median(widths[widths > 0]))
    body_width = float(np.percentile(solid.sum(axis=1)[rows], 90))
    if width < MIN_MOUTH_PIXELS or width > MAX_MOUTH_TO_BODY * body_width:
        return None
    if height < MIN_HEIGHT_TO_BODY * body_width:
        return None
    neck_width = float(solid[top + round(NECK_DEPTH * height)].sum())
    if neck_width > MAX_NECK_FLARE * width:
        return None
    centre = float(np.median([np.nonzero(row)[0].mean() for row in band if row.any()]))
    return Mouth(top=top, centre=centre, width=width, body_width=body_width)


def _shade(size: tuple[int, int], colour: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """RGB of a lit cylinder seen from the side: dark rims, a bright band off-centre."""
    w, h = size
    u = np.linspace(-1.0, 1.0, w)
    highlight = rng.uniform(-0.5, 0.1)
    light = 0.55 + 0.45 * np.sqrt(np.clip(1 - u**2, 0, 1)) + 0.5 * np.exp(-(((u - highlight) / 0.12) ** 2))
    rgb = np.asarray(colour, dtype=np.float64)[None, None, :] * light[None, :, None]
    rgb = np.repeat(rgb, h, axis=0)
    rgb += rng.normal(0, 4.0, rgb.shape)
    return np.clip(rgb, 0, 255)


def _cap_shape(kind: str, w: int, h: int) -> Image.Image:
    """Alpha of the cap at ``(w, h)``: rounded top, crimped (crown) or straight (screw) bottom edge."""
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    radius = max(1, round(0.18 * min(w, h)))
    if kind == "crown":
        skirt = max(1, round(0.22 * h))
        draw.rounded_rectangle((0, 0, w - 1, h - 1 - skirt), radius=radius, fill=255)
        teeth = max(8, w // (3 * _SUPERSAMPLE))
        step = w / teeth
        points = [(0.0, float(h - 1 - skirt))]
        for k in range(teeth):
            points += [(k * step + step * 0.5, float(h - 1)), ((k + 1) * step, float(h - 1 - skirt))]
        points += [(float(w - 1), float(h - 1 - skirt))]
        shoulder = float(h - 1 - 2 * skirt)
        draw.polygon([(0.0, shoulder), *points, (float(w - 1), shoulder)], fill=255)
    else:
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=radius, fill=255)
    return mask


def _ridges(rgb: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Vertical knurling of a screw cap, or the crown's pleats: periodic darkening across the width."""
    w = rgb.shape[1]
    period = rng.uniform(2.5, 4.5) * _SUPERSAMPLE
    depth = 0.18 if kind == "screw" else 0.10
    wave = 1.0 - depth * (0.5 + 0.5 * np.cos(2 * np.pi * np.arange(w) / period))
    return rgb * wave[None, :, None]


def add_cap(item: Cutout, rng: np.random.Generator) -> tuple[Cutout, dict[str, Any]] | None:
    """``item`` (upright, neck up) with a drawn cap on its lip, and what was drawn; None if no lip."""
    mouth = find_mouth(item.alpha())
    if mouth is None:
        return None
    kind = "crown" if rng.random() < 0.7 else "screw"
    colour_name, colour = CAP_COLOURS[int(rng.integers(len(CAP_COLOURS)))]
    cap_w = mouth.width * rng.uniform(1.08, 1.25)
    cap_h = cap_w * (rng.uniform(0.38, 0.55) if kind == "crown" else rng.uniform(0.7, 1.0))
    overlap = cap_h * rng.uniform(0.35, 0.6)  # how far the cap reaches down over the lip
    sw, sh = max(4, round(cap_w * _SUPERSAMPLE)), max(4, round(cap_h * _SUPERSAMPLE))
    rgb = _ridges(_shade((sw, sh), colour, rng), kind, rng)
    top_face = max(1, round(0.12 * sh))
    rgb[:top_face] *= 0.8  # the flat top catches less light than the side
    big = Image.fromarray(rgb.astype(np.uint8), "RGB").convert("RGBA")
    big.putalpha(_cap_shape(kind, sw, sh))
    cap = big.resize((max(1, round(cap_w)), max(1, round(cap_h))), Image.Resampling.LANCZOS)

    rise = max(0, round(cap_h - overlap) - mouth.top)  # rows to add above the cut-out for the cap
    canvas = Image.new("RGBA", (item.size[0], item.size[1] + rise), (0, 0, 0, 0))
    canvas.paste(item.image, (0, rise))
    contact = Image.new("L", canvas.size, 0)
    contact.paste(item.contact, (0, rise))
    x = round(mouth.centre - cap.width / 2)
    y = round(mouth.top + rise - (cap_h - overlap))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    layer.paste(cap, (x, y))
    capped = Image.alpha_composite(canvas, layer)
    info = {
        "kind": kind,
        "colour": colour_name,
        "mouth_px": round(mouth.width, 1),
        "cap_px": [round(cap_w, 1), round(cap_h, 1)],
    }
    return Cutout(image=capped, contact=contact), info
