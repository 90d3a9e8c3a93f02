"""``capsight quantize MODEL --out DIR`` into the folder of another trained model: the INT8 model
replaces that model, so its checkpoint.pt, split.json and report must go with it. Left there, they
described another model: ``capsight export DIR`` re-exported the replaced FP32 model, and a later
``capsight quantize DIR`` calibrated on its split."""

from __future__ import annotations

from pathlib import Path

from training_data import make_dataset

from capsight.cli import main
from capsight.training.reports import REPORT_FILES

TINY = ["--arch", "tiny", "--epochs", "3", "--image-size", "32", "--batch-size", "8", "--lr", "0.01"]
RUN_FILES = ("checkpoint.pt", "split.json", *REPORT_FILES)


def test_quantize_into_another_models_folder_leaves_none_of_its_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for data, out, seed in (("da", a, 0), ("db", b, 5)):
        photos = make_dataset(tmp_path / data, per_class=8, seed=seed)
        assert main(["train", str(photos), "--out", str(out), *TINY, "--no-pretrained"]) == 0
    assert all((b / name).is_file() for name in RUN_FILES)
    argv = ["quantize", str(a), "--data", str(tmp_path / "da"), "--out", str(b), "--calibration", "8"]
    assert main([*argv, "--min-agreement", "0", "--keep-float", "0"]) == 0
    assert [name for name in RUN_FILES if (b / name).exists()] == []
    assert (a / "checkpoint.pt").is_file() and (a / "split.json").is_file()  # the source is untouched
