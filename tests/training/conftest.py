"""Fixtures for training tests: small generated photo folders (never downloaded) and one trained model.

The synthetic classes differ by shape *and* colour on noisy backgrounds, so the tiny network learns
them in a few epochs; crops of one "photo" share a ``__crop`` group like the real bottle dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from capsight.cli import main

CLASSES = {"circle": (220, 40, 40), "square": (40, 200, 40), "triangle": (40, 60, 230)}
BAD_FILES = {
    "circle/truncated.jpg": "truncated",
    "square/notes.jpg": "text",
    "triangle/empty.png": "empty",
    "triangle/readme.txt": "text",
}


def shape_image(label: str, rng: np.random.Generator, size: int = 44) -> Image.Image:
    background = rng.integers(90, 170, size=(size, size, 3), dtype=np.uint8)
    image = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(image)
    r = int(rng.integers(size // 4, size // 3))
    cx, cy = (int(v) for v in rng.integers(r, size - r, size=2))
    colour = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in CLASSES[label])
    box = (cx - r, cy - r, cx + r, cy + r)
    if label == "circle":
        draw.ellipse(box, fill=colour)
    elif label == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return image


def make_dataset(root: Path, per_class: int = 20, seed: int = 0, prefix: str = "synth") -> Path:
    """``root/<label>/`` with per_class images; files 0 and 1 of every 5 are two crops of one 'photo'."""
    rng = np.random.default_rng(seed)
    for label in CLASSES:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            fmt, ext = [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")][i % 3]
            name = f"{prefix}__{label}g{i // 5}__crop{i % 5}" if i % 5 < 2 else f"{prefix}__{label}{i}"
            shape_image(label, rng).save(folder / f"{name}.{ext}", format=fmt)
    return root


def add_bad_files(root: Path) -> None:
    good = (root / "circle").glob("*.jpg").__next__().read_bytes()
    for relpath, kind in BAD_FILES.items():
        path = root / relpath
        if kind == "truncated":
            path.write_bytes(good[: len(good) // 3])
        elif kind == "text":
            path.write_text("not an image\n")
        else:
            path.write_bytes(b"")
    (root / "square" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: ignored, not reported


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 images per class (jpg/png/webp), plus a truncated, an empty and two non-image files."""
    root = make_dataset(tmp_path_factory.mktemp("shapes") / "data")
    add_bad_files(root)
    (root / "PROVENANCE.csv").write_text(
        "file,label,repo,licence\n"
        + "".join(
            f"{label}/{p.name},{label},me/synthetic,CC0 (made by the test suite)\n"
            for label in CLASSES
            for p in sorted((root / label).iterdir())
            if not p.name.startswith(".")
        )
    )
    return root


@pytest.fixture(scope="session")
def trained_dir(shapes_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `capsight train` run of the tiny network (a few seconds), shared by the tests."""
    out = tmp_path_factory.mktemp("runs") / "shapes-model"
    rc = main(
        [
            "train",
            str(shapes_dir),
            "--out",
            str(out),
            "--arch",
            "tiny",
            "--epochs",
            "3",
            "--image-size",
            "32",
            "--batch-size",
            "8",
            "--lr",
            "0.01",
            "--seed",
            "1",
        ]
    )
    assert rc == 0
    return out
