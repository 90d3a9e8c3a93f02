"""Helpers shared by the batch tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_factory import LABEL_COLOURS, solid_image_bytes

# A mixed colour the colour model is unsure about (top probability ~0.6, well below 0.9).
GREY = (128, 128, 128)


@dataclass(frozen=True)
class ImageFolder:
    root: Path
    labels: dict[str, str]  # absolute path -> expected label
    errors: dict[str, str]  # absolute path -> expected error kind (the text before ':')
    skipped: frozenset[str]  # absolute paths of files that are no image: listed nowhere but as skipped

    @property
    def total(self) -> int:
        return len(self.labels) + len(self.errors)


def make_image_folder(root: Path) -> ImageFolder:
    """Good images of each label in several formats and nesting depths, plus files that must fail."""
    root = root.resolve()
    labels: dict[str, str] = {}
    errors: dict[str, str] = {}
    (root / "nested" / "deeper").mkdir(parents=True)
    for label, colour in LABEL_COLOURS.items():
        variants = (
            (f"{label}.jpg", "JPEG"),
            (f"nested/{label}.png", "PNG"),
            (f"nested/deeper/{label}.webp", "WEBP"),
        )
        for rel, fmt in variants:
            path = root / rel
            path.write_bytes(solid_image_bytes(colour, fmt, size=image_size(label)))
            labels[str(path)] = label
    broken = root / "broken.jpg"
    broken.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"])[:120])  # truncated JPEG
    errors[str(broken)] = "InvalidImage"
    notes = root / "nested" / "notes.txt"  # a folder's sidecar: skipped, neither a result nor an error
    notes.write_text("not an image\n")
    empty = root / "empty.png"
    empty.write_bytes(b"")
    errors[str(empty)] = "EmptyFile"
    (root / ".hidden.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))  # never an input
    return ImageFolder(root=root, labels=labels, errors=errors, skipped=frozenset({str(notes)}))


def image_size(label: str) -> tuple[int, int]:
    """Sizes differ per label so width/height in the results can be checked too."""
    return (80 + 3 * len(label), 60)


def all_paths(folder: ImageFolder) -> set[str]:
    return set(folder.labels) | set(folder.errors)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
