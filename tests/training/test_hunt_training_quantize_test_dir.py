"""``capsight quantize`` of a model trained with ``--test-dir``: its INT8 test metrics must count the
test folder's photos only. Val photos of the data folder were counted too whenever their names
matched a test photo's (``circle/img0.jpg`` in both folders, as cameras and exporters number them)."""

from __future__ import annotations

import json
from pathlib import Path

from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "3", "--image-size", "32", "--batch-size", "8", "--lr", "0.01"]


def test_int8_test_metrics_count_the_test_folder_only(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=10)
    tests = make_dataset(tmp_path / "tests", per_class=3, seed=9)  # the same file names as data/
    model = tmp_path / "model"
    argv = ["train", str(data), "--test-dir", str(tests), "--out", str(model), *TINY, "--no-pretrained"]
    assert main([*argv, "--no-checkpoint"]) == 0
    split = json.loads((model / "split.json").read_text())
    assert set(split["val"]) & set(split["test"])  # the case at hand: names shared by val and test
    out = tmp_path / "int8"
    argv = ["quantize", str(model), "--data", str(data), "--out", str(out), "--calibration", "8"]
    assert main([*argv, "--min-agreement", "0", "--keep-float", "0"]) == 0
    metrics = json.loads((out / "model.json").read_text())["metrics"]
    assert metrics["n"] == len(split["test"]) == 9
