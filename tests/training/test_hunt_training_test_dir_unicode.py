"""``capsight train --test-dir`` where the test folder's class names are in the other Unicode form
than the training folder's: "café" composed in one, decomposed (``cafe`` + U+0301, as macOS and many
zip files write names) in the other. ``capsight evaluate`` already takes them for the same class."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
from training_data import shape_image

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def photo_folder(root: Path, per_class: int, form: str) -> Path:
    rng = np.random.default_rng(per_class)
    for label, shape in (("café", "circle"), ("thé", "square")):
        folder = root / unicodedata.normalize(form, label)
        folder.mkdir(parents=True)
        for i in range(per_class):
            shape_image(shape, rng, size=32).save(folder / f"p{i}.png")
    return root


def test_a_test_folder_in_the_other_unicode_form_tests_the_same_classes(tmp_path: Path) -> None:
    data = photo_folder(tmp_path / "data", 6, "NFC")
    test = photo_folder(tmp_path / "test", 2, "NFD")
    out = tmp_path / "model"
    # It was refused: "Test folder has classes missing from the training data: café, thé."
    assert main(["train", str(data), "--test-dir", str(test), "--out", str(out), *TINY]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["labels"] == ["café", "thé"]  # the training folder's spelling
    assert meta["metrics"]["n"] == 4
    assert meta["training"]["counts"]["test"] == {"café": 2, "thé": 2}
    split = json.loads((out / "split.json").read_text())
    # split.json names the test files as they are spelled in the test folder, so evaluate finds them.
    assert sorted(split["test"]) == sorted(
        f"{unicodedata.normalize('NFD', label)}/p{i}.png" for label in ("café", "thé") for i in range(2)
    )
    assert main(["evaluate", str(out), str(test), "--split-file", str(out / "split.json"), "--json"]) == 0
