"""``capsight train --seed N`` twice on one folder: the same split, and the same model. The network
(a random-init one, or a pretrained backbone's new classifier head) was created before the seed was
set, so its starting weights, and so the model, its scores and its version, changed every run."""

from __future__ import annotations

import json
from pathlib import Path

from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "2", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_the_same_seed_trains_the_same_model(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=6)
    runs = [tmp_path / "first", tmp_path / "second"]
    for out in runs:
        assert main(["train", str(data), "--out", str(out), *TINY, "--seed", "3", "--name", "m"]) == 0
    first, second = (json.loads((out / "model.json").read_text()) for out in runs)
    assert (runs[0] / "split.json").read_text() == (runs[1] / "split.json").read_text()
    assert [h["train_loss"] for h in first["training"]["history"]] == [
        h["train_loss"] for h in second["training"]["history"]
    ]
    assert (runs[0] / "model.onnx").read_bytes() == (runs[1] / "model.onnx").read_bytes()
    assert first["version"] == second["version"]
