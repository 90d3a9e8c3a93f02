"""``capsight quantize MODEL --data DIR`` where DIR names its class folders in the other Unicode form
than the model's labels ("café" decomposed by macOS or a Mac's zip file, composed elsewhere). It is
the same class, as ``capsight evaluate`` takes it; quantize refused it with "DIR has class folders the
model does not know (café, thé); the model's labels are café, thé"."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
from training_data import shape_image

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "3", "--image-size", "32", "--batch-size", "8", "--lr", "0.01"]


def photo_folder(root: Path, per_class: int, form: str) -> Path:
    rng = np.random.default_rng(7)
    for label, shape in (("café", "circle"), ("thé", "square")):
        folder = root / unicodedata.normalize(form, label)
        folder.mkdir(parents=True)
        for i in range(per_class):
            shape_image(shape, rng, size=32).save(folder / f"p{i}.png")
    return root


def test_quantize_takes_class_folders_in_the_other_unicode_form(tmp_path: Path) -> None:
    model = tmp_path / "model"
    data = photo_folder(tmp_path / "data", 10, "NFC")
    assert main(["train", str(data), "--out", str(model), *TINY, "--no-pretrained", "--no-checkpoint"]) == 0
    (model / "split.json").unlink()  # calibrate on a shuffle of the copy below
    copy = photo_folder(tmp_path / "copy", 10, "NFD")
    out = tmp_path / "int8"
    argv = ["quantize", str(model), "--data", str(copy), "--out", str(out), "--calibration", "8"]
    assert main([*argv, "--min-agreement", "0", "--keep-float", "0"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["labels"] == ["café", "thé"]
    # The held-out photos were scored against their class, not left out as of an unknown one.
    assert meta["extra"]["quantization"]["held_out_accuracy"] is not None
