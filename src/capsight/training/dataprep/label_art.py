"""Printed artwork for rendered bottles: a body label with lettering and a logo, and a crown-cap print.

Why: real beer bottles carry printed labels (a brand word, small text, an emblem, borders) and
printed caps, while the first renders had plain two-colour patterns. A network trained on those
can tell a rendered bottle from a photographed one by its label alone, and then learns what a
*rendered* cap looks like rather than what a cap looks like. The artwork is drawn here with Pillow
(Blender's Python has no Pillow) into PNG files that ``blender_bottle_model.py`` wraps around the
bottle; everything is drawn from the image's seed, so a render can be redrawn exactly.

The font is the one Pillow carries itself (``ImageFont.load_default``), so no system font is needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LABEL_SIZE = (1024, 256)  # wraps once around the bottle: about 4:1 like a body label
CAP_SIZE = 128

WORDS = (
    "LAGER", "PILSNER", "PILS", "BRAU", "EXPORT", "PREMIUM", "BEER", "BIER", "ALE", "STOUT",
    "HELLES", "DUNKEL", "WEISSE", "BOCK", "MAERZEN", "KELLER", "ORIGINAL", "CLASSIC", "GOLD",
    "CERVEZA", "BIRRA", "PIWO", "BREWERY", "BRAUEREI", "SINCE", "1842", "1516", "IMPORTED",
)  # fmt: skip
PAPER = ((243, 236, 214), (250, 250, 245), (20, 24, 40), (150, 20, 25), (12, 60, 30), (30, 45, 110),
         (210, 170, 60), (235, 235, 235), (60, 30, 15))  # fmt: skip
SYLLABLES = ("BRA", "KO", "HEI", "NE", "KEN", "STEL", "LA", "TUB", "ORG", "GROL", "SCH", "BECK", "WAR",
             "STEI", "NER", "PAU", "LA", "NER", "AM", "STEL", "MO", "DEL", "OS", "TER")  # fmt: skip
INK = ((20, 20, 20), (180, 20, 25), (200, 160, 40), (250, 250, 250), (20, 50, 120), (15, 80, 35))


@dataclass(frozen=True)
class BottleArt:
    label: Path
    cap: Path


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _ink(rng: random.Random, paper: tuple[int, int, int]) -> tuple[int, int, int]:
    """An ink colour that stands out from the paper (printed text is meant to be read)."""
    brightness = sum(paper) / 3
    choices = [c for c in INK if abs(sum(c) / 3 - brightness) > 70] or [(0, 0, 0), (255, 255, 255)]
    return rng.choice(choices)


def _brand(rng: random.Random) -> str:
    """A made-up brand word: two or three syllables."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def _fitted(draw: ImageDraw.ImageDraw, text: str, size: int, width: float) -> Font:
    """The font at ``size``, or smaller so that ``text`` fits in ``width`` pixels."""
    font = _font(size)
    while size > 8 and draw.textlength(text, font=font) > width:
        size = int(size * 0.85)
        font = _font(size)
    return font


def draw_label(rng: random.Random, size: tuple[int, int] = LABEL_SIZE) -> Image.Image:
    """A body label: paper, border bands, an emblem and the brand word, printed once to three times around."""
    width, height = size
    paper = rng.choice(PAPER)
    accent = rng.choice([c for c in INK + PAPER if c != paper])
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    band = rng.randint(0, height // 8)
    if band:
        draw.rectangle((0, 0, width, band), fill=accent)
        draw.rectangle((0, height - band, width, height), fill=accent)
    emblem = rng.random() < 0.6  # an oval behind the brand word
    ink = _ink(rng, accent if emblem else paper)
    small_ink = ink if emblem else _ink(rng, paper)
    brand, subtitle = _brand(rng), " ".join(rng.sample(WORDS, k=rng.randint(1, 3)))
    top_word = rng.choice(WORDS) if rng.random() < 0.5 else ""
    repeats = rng.choice([1, 2, 2, 3])  # the front shows a whole logo whichever way the bottle turns
    cell = width / repeats
    rx, ry = cell * rng.uniform(0.3, 0.45), height * rng.uniform(0.33, 0.45)
    big = _fitted(draw, brand, int(height * rng.uniform(0.22, 0.34)), (2 * rx if emblem else cell) * 0.85)
    small = _fitted(draw, subtitle, int(height * rng.uniform(0.08, 0.12)), (2 * rx if emblem else cell) * 0.7)
    for k in range(repeats):
        cx, cy = (k + 0.5) * cell, height / 2
        if emblem:
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=accent, outline=small_ink, width=4)
        draw.text((cx, height * 0.45), brand, font=big, fill=ink, anchor="mm")
        draw.text((cx, height * 0.7), subtitle, font=small, fill=small_ink, anchor="mm")
        if top_word and not emblem:
            draw.text((cx, height * 0.2), top_word, font=small, fill=small_ink, anchor="mm")
    return image


def draw_cap(rng: random.Random, size: int = CAP_SIZE) -> Image.Image:
    """The top of a crown cap seen from above: a coloured disc with a ring and a short word or mark."""
    base, ink = rng.choice(INK + PAPER[:3]), rng.choice(INK)
    image = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(image)
    margin = size * rng.uniform(0.12, 0.22)
    if rng.random() < 0.6:
        draw.ellipse((margin, margin, size - margin, size - margin), outline=ink, width=rng.randint(2, 6))
    if rng.random() < 0.8:
        word = rng.choice([_brand(rng)[:4], rng.choice(WORDS)[:5]])
        draw.text((size / 2, size / 2), word, font=_font(int(size * 0.2)), fill=ink, anchor="mm")
    else:
        dot = size * rng.uniform(0.08, 0.2)
        draw.ellipse((size / 2 - dot, size / 2 - dot, size / 2 + dot, size / 2 + dot), fill=ink)
    return image


def write_bottle_art(seed: int, folder: Path, stem: str) -> BottleArt:
    """Draw one bottle's label and cap print from ``seed`` into ``folder``; returns their paths."""
    rng = random.Random(seed)
    art = BottleArt(folder / f"{stem}-label.png", folder / f"{stem}-cap.png")
    draw_label(rng).save(art.label)
    draw_cap(rng).save(art.cap)
    return art
