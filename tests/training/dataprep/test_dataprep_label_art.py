"""Printed label and cap artwork for rendered bottles: drawn from the seed, legible, written as PNGs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image

from capsight.training.dataprep.label_art import (
    CAP_SIZE,
    LABEL_SIZE,
    draw_cap,
    draw_label,
    write_bottle_art,
)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_the_same_seed_draws_the_same_label_and_another_seed_another() -> None:
    first, again = draw_label(random.Random(5)), draw_label(random.Random(5))
    assert np.array_equal(_pixels(first), _pixels(again))
    others = [draw_label(random.Random(seed)) for seed in range(6, 12)]
    assert all(not np.array_equal(_pixels(first), _pixels(other)) for other in others)


def test_a_label_carries_print_in_its_middle_band() -> None:
    """Lettering is what the old two-colour patterns lacked: the band where the brand word sits must
    hold more than one or two flat colours, for every seed."""
    for seed in range(20):
        label = draw_label(random.Random(seed))
        assert label.size == LABEL_SIZE
        band = _pixels(label)[LABEL_SIZE[1] * 3 // 10 : LABEL_SIZE[1] * 6 // 10]
        colours = np.unique(band.reshape(-1, 3), axis=0)
        assert len(colours) > 10, seed  # anti-aliased glyph edges give many in-between colours
        # and the print is visible: some pixels differ strongly from the commonest (paper or emblem) one
        values, counts = np.unique(band.reshape(-1, 3), axis=0, return_counts=True)
        commonest = values[counts.argmax()]
        assert (np.abs(band - commonest).sum(axis=2) > 120).mean() > 0.01, seed


def test_caps_vary_and_have_the_cap_size() -> None:
    caps = [draw_cap(random.Random(seed)) for seed in range(8)]
    assert all(cap.size == (CAP_SIZE, CAP_SIZE) for cap in caps)
    assert len({_pixels(cap).tobytes() for cap in caps}) == len(caps)


def test_write_bottle_art_writes_both_pngs_from_the_seed(tmp_path: Path) -> None:
    (tmp_path / "again").mkdir()
    art = write_bottle_art(42, tmp_path, "art-00000")
    again = write_bottle_art(42, tmp_path / "again", "art-00000")
    assert art.label.name == "art-00000-label.png" and art.cap.name == "art-00000-cap.png"
    for path, twin in ((art.label, again.label), (art.cap, again.cap)):
        with Image.open(path) as image, Image.open(twin) as other:
            assert image.format == "PNG"
            assert np.array_equal(_pixels(image), _pixels(other))
