"""Byte-identical copies of a photo in the data folder land in one split, and copies filed under two
classes are named.

Why: people copy photos between folders ("IMG_0042 (1).jpg", a photo put in two class folders). Split
apart by the shuffle, a copy in the test split was a photo the model had trained on: the test accuracy
written to model.json measured memory, not the model.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main


def _train(data: Path, out: Path) -> dict[str, str]:
    rc = main(
        [
            *("train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1"),
            *("--image-size", "32", "--batch-size", "8", "--seed", "1"),
        ]
    )
    assert rc == 0
    split = json.loads((out / "split.json").read_text())
    return {relpath: part for part in ("train", "val", "test") for relpath in split[part]}


def test_copies_of_a_photo_share_a_split(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=12)
    pairs = []
    for label in ("circle", "square", "triangle"):
        for i, photo in enumerate(sorted((data / label).iterdir())):
            copy = data / label / f"IMG_{i:04d} (1){photo.suffix}"
            shutil.copyfile(photo, copy)
            pairs.append((f"{label}/{photo.name}", f"{label}/{copy.name}"))
    where = _train(data, tmp_path / "model")
    apart = [(a, b) for a, b in pairs if where[a] != where[b]]
    assert apart == []
    assert any(where[a] == "test" for a, _ in pairs)  # the test split is not empty


def test_a_photo_in_two_class_folders_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", per_class=6)
    photo = sorted((data / "circle").iterdir())[0]
    shutil.copyfile(photo, data / "square" / "mine.jpg")
    with caplog.at_level(logging.WARNING):
        where = _train(data, tmp_path / "model")
    assert where[f"circle/{photo.name}"] == where["square/mine.jpg"]
    warned = [r.getMessage() for r in caplog.records if "square/mine.jpg" in r.getMessage()]
    assert len(warned) == 1 and f"circle/{photo.name}" in warned[0]
