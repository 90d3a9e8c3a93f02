"""Generated stand-ins for the real data: bottles on a light board, scenes, a fake shared dataset.

The board photos imitate what makes TrashNet hard: uneven board light (a brightness and colour
gradient), sensor noise, and a soft shadow next to the object.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from capsight.training.dataprep.composite import CompositeParams
from capsight.training.dataprep.prepare import PrepareConfig
from capsight.training.dataprep.sources import ExtraSource

TRASHNET = "congduytran12/Trash-Classification-"
AQUATRASH = "Harsh9524/AquaTrash"
KMP = "kmp1001/BNU-AI"


def bottle_mask(
    size: tuple[int, int], *, angle: float = 0.0, scale: float = 1.0, offset_y: float = 0.0
) -> np.ndarray:
    """A bottle silhouette (body, shoulder, neck, cap), neck up before rotation."""
    width, height = size
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    cx, cy = width / 2, height / 2 + offset_y * height
    bw, bh = 0.22 * width * scale, 0.42 * height * scale
    nw, nh = 0.08 * width * scale, 0.16 * height * scale
    draw.rounded_rectangle((cx - bw / 2, cy - bh / 3, cx + bw / 2, cy + 2 * bh / 3), radius=bw / 5, fill=255)
    draw.polygon(
        [
            (cx - bw / 2, cy - bh / 3 + 2),
            (cx + bw / 2, cy - bh / 3 + 2),
            (cx + nw / 2, cy - bh / 2),
            (cx - nw / 2, cy - bh / 2),
        ],
        fill=255,
    )
    draw.rectangle((cx - nw / 2, cy - bh / 2 - nh, cx + nw / 2, cy - bh / 2), fill=255)
    draw.rectangle(
        (cx - nw / 2 - 2, cy - bh / 2 - nh - 0.04 * height * scale, cx + nw / 2 + 2, cy - bh / 2 - nh),
        fill=255,
    )
    if angle:
        canvas = canvas.rotate(angle, resample=Image.Resampling.NEAREST, center=(cx, cy))
    return np.asarray(canvas) > 127


def board_photo(
    mask: np.ndarray,
    *,
    colour: tuple[int, int, int] = (40, 110, 50),
    board: tuple[int, int, int] = (228, 224, 216),
    seed: int = 0,
) -> Image.Image:
    """The object in ``mask`` on a light board with a light gradient, noise, a shadow and a label."""
    rng = np.random.default_rng(seed)
    height, width = mask.shape
    xs = np.linspace(0.92, 1.04, width)[None, :, None]
    ys = np.linspace(1.02, 0.95, height)[:, None, None]
    tint = np.array([1.0, 0.99, 0.97])[None, None, :]
    image = np.array(board, dtype=np.float64)[None, None, :] * xs * ys * tint * np.ones((height, width, 3))
    shadow = Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(6))
    shifted = np.roll(np.asarray(shadow, dtype=np.float64) / 255.0, (6, 8), axis=(0, 1))
    image *= 1.0 - 0.25 * shifted[..., None]
    obj = np.array(colour, dtype=np.float64)[None, None, :] * np.ones_like(image)
    rows = np.nonzero(mask.any(axis=1))[0]
    label = np.zeros_like(mask)
    if rows.size:
        top, bottom = rows.min(), rows.max()
        label[top + (bottom - top) * 6 // 10 : top + (bottom - top) * 8 // 10, :] = True
    obj[label & mask] = (235, 225, 80)
    image = np.where(mask[..., None], obj, image)
    image += rng.normal(0.0, 2.0, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def scene_photo(size: tuple[int, int] = (320, 240), seed: int = 0) -> Image.Image:
    """A busy, colourful stand-in for a real scene."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(40, 200, 3)
    image = Image.new("RGB", size, tuple(int(v) for v in base))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(10, width // 2)), y0 + int(rng.integers(10, height // 2))
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return image


def jpeg(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=95)
    return path


def make_shared_dataset(root: Path) -> Path:
    """A tiny shared dataset in the real naming scheme, with PROVENANCE.csv.

    Board bottles (TrashNet names, glass and plastic in both cap states), board background items,
    AquaTrash-named scenes, and one non-board bottle crop (kmp1001) that is used as is.
    """
    rows: list[dict[str, str]] = []
    size = (192, 256)

    def add(label: str, repo: str, name: str, image: Image.Image, path_in_repo: str, how: str = "") -> None:
        file = f"{label}/{name}"
        jpeg(image, root / file)
        rows.append(
            {
                "file": file,
                "label": label,
                "repo": repo,
                "path_in_repo": path_in_repo,
                "commit": "0" * 40,
                "licence": "MIT (test)" if repo == TRASHNET else "CC BY 4.0 (test)",
                "how_labelled": how,
            }
        )

    seed = 0
    for label in ("opened", "closed"):
        for material, colour in (("glass", (40, 110, 50)), ("plastic", (70, 120, 200))):
            for i in range(2):
                seed += 1
                mask = bottle_mask(size, angle=[0, 60, -100, 20][(seed + i) % 4])
                name = f"{material}{seed}.jpg"
                photo = board_photo(mask, colour=colour, seed=seed)
                add(
                    label,
                    TRASHNET,
                    f"congduytran12__Trash-Classification-__{name}",
                    photo,
                    f"dataset-resized/{material}/{name}",
                )
    for i in range(2):
        mask = bottle_mask(size, angle=90, scale=0.8)
        name = f"metal{i}.jpg"
        photo = board_photo(mask, colour=(150, 150, 160), seed=50 + i)
        add(
            "background",
            TRASHNET,
            f"congduytran12__Trash-Classification-__{name}",
            photo,
            f"dataset-resized/metal/{name}",
        )
    for i in range(3):
        name = f"00000{i}_jpg.rf.{i:032x}.jpg"
        add(
            "background",
            AQUATRASH,
            f"Harsh9524__AquaTrash__{name}",
            scene_photo(seed=100 + i),
            f"Images/{name}",
        )
    add(
        "closed",
        KMP,
        "kmp1001__BNU-AI__7_png.rf.abc__crop0.jpg",
        scene_photo((96, 160), seed=7),
        "x/images/7_png.rf.abc.jpg",
        "crop, labelled by eye: GLASS SODA bottle, cap on",
    )
    with (root / "PROVENANCE.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_extra_folder(root: Path) -> Path:
    """Photos as a package installs them: a big PNG, a small JPEG, a gzip-compressed JPEG, a chart."""
    root.mkdir(parents=True, exist_ok=True)
    scene_photo((1600, 1200), seed=200).save(root / "big.png")
    jpeg(scene_photo((300, 200), seed=201), root / "small.jpg")
    buffer = io.BytesIO()
    scene_photo((200, 150), seed=202).save(buffer, format="JPEG")
    (root / "packed.jpg.gz").write_bytes(gzip.compress(buffer.getvalue()))
    jpeg(Image.new("RGB", (64, 64), "white"), root / "chart.jpg")
    return root


def prepare_config(
    out: Path, shared: Path, sources: tuple[ExtraSource, ...], params: CompositeParams, **changes: Any
) -> PrepareConfig:
    """A small, single-worker build of the fake dataset; ``changes`` override any field."""
    base = PrepareConfig(
        out_dir=out,
        shared_dataset=shared,
        extra_sources=sources,
        composite=params,
        composites_per_item=1.5,
        workers=1,
    )
    return dataclasses.replace(base, **changes)
