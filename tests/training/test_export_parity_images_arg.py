"""``capsight export --images``: one photo given (the help says "folder of photos", a photo is what a
user has at hand) was "No decodable image in photo.jpg for the parity check", of a photo that decodes;
a path that does not exist was the same words, as if its photos were broken. A photo is checked on,
and a missing path is said to be missing (exit 2) before anything is exported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export-images")
    make_dataset(root / "data", per_class=4)
    assert main(["train", str(root / "data"), "--out", str(root / "model"), *TINY]) == 0
    return root / "model" / "checkpoint.pt"


def test_one_photo_is_enough_for_the_parity_check(
    checkpoint: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photo = next(p for p in sorted((checkpoint.parent.parent / "data").rglob("*.png")))
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        assert main(["export", str(checkpoint), "--out", str(tmp_path / "out"), "--images", str(photo)]) == 0
    assert (tmp_path / "out" / "model.onnx").is_file()
    assert any("over 1 images" in r.getMessage() for r in caplog.records)


def test_a_missing_images_path_is_said_to_be_missing(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "photos"
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "out"), "--images", str(missing)]) == 2
    assert f"--images {missing} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
