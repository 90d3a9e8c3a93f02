"""Generated photo folders for the training tests (nothing is downloaded).

Imported as ``training_data``, not from ``conftest``: every test area has a conftest module. The
synthetic classes differ by shape *and* colour on noisy backgrounds, so the tiny network learns them
in a few epochs; crops of one "photo" share a ``__crop`` group like the real bottle dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

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
