"""``capsight export`` re-checks parity on the photos that ``train`` recorded in checkpoint.pt. A run
given a relative DATA_DIR recorded relative paths, which name nothing from another working folder:
the export then checked parity on random noise instead of photos, with only a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main
from capsight.training.checkpoint import load_checkpoint

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_export_from_another_folder_checks_parity_on_the_recorded_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_dataset(tmp_path / "project" / "data", per_class=4)
    monkeypatch.chdir(tmp_path / "project")
    assert main(["train", "data", "--out", "model", *TINY]) == 0
    checkpoint = tmp_path / "project" / "model" / "checkpoint.pt"
    assert all(Path(p).is_absolute() for p in load_checkpoint(checkpoint).parity_files)
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="capsight.training"):
        assert main(["export", str(checkpoint), "--out", str(tmp_path / "again")]) == 0
    assert not [r.getMessage() for r in caplog.records if "random inputs" in r.getMessage()]
