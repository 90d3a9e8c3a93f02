"""``capsight export CHECKPOINT --out DIR`` into the folder of another trained model: the new
model.onnx + model.json replace that model, so its checkpoint.pt, split.json and report must go
with it (``capsight quantize DIR`` calibrates and checks on DIR/split.json, ``capsight export DIR``
re-exports DIR/checkpoint.pt). Re-exporting a model into its own folder keeps them: they are its own."""

from __future__ import annotations

import json
from pathlib import Path

from training_data import make_dataset

from capsight.cli import main
from capsight.training.reports import REPORT_FILES

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]
RUN_FILES = ("checkpoint.pt", "split.json", *REPORT_FILES)


def test_export_into_another_models_folder_leaves_none_of_its_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for data, out, seed in (("da", a, 0), ("db", b, 5)):
        photos = make_dataset(tmp_path / data, per_class=8, seed=seed)
        assert main(["train", str(photos), "--out", str(out), *TINY]) == 0
    assert all((b / name).is_file() for name in RUN_FILES)
    assert main(["export", str(a / "checkpoint.pt"), "--out", str(b)]) == 0
    assert (b / "model.onnx").read_bytes() == (a / "model.onnx").read_bytes()
    # b's split.json, checkpoint.pt and report stayed beside a's model, as if they were its own.
    assert [name for name in RUN_FILES if (b / name).exists()] == []


def test_export_into_its_own_folder_keeps_its_files(tmp_path: Path) -> None:
    a = tmp_path / "a"
    assert main(["train", str(make_dataset(tmp_path / "da", per_class=8)), "--out", str(a), *TINY]) == 0
    split = (a / "split.json").read_text()
    assert main(["export", str(a), "--out", str(a)]) == 0
    assert all((a / name).is_file() for name in RUN_FILES)
    assert (a / "split.json").read_text() == split
    assert json.loads((a / "model.json").read_text())["training"]["re_exported_from"] == str(a)
