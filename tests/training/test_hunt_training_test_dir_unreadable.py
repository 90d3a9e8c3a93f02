"""``capsight train --test-dir`` naming a folder none of whose photos decode (truncated downloads,
text saved as .jpg): the run cannot score the model as asked. It trained and exported first, then
failed with "No decodable images to evaluate." and threw the trained model away."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_a_test_folder_without_one_decodable_photo_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    tests = tmp_path / "tests"
    for label in ("circle", "square"):
        (tests / label).mkdir(parents=True)
        (tests / label / "photo.jpg").write_bytes(b"not a photo\n")
    good = next((data / "circle").glob("*.jpg")).read_bytes()
    (tests / "square" / "cut.jpg").write_bytes(good[: len(good) // 3])
    out = tmp_path / "model"
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        rc = main(["train", str(data), "--test-dir", str(tests), "--out", str(out), *TINY])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"No decodable photo in the test folder {tests}" in err
    assert not [r for r in caplog.records if r.name == "capsight.training.loop"]  # nothing trained
    assert not out.exists()
