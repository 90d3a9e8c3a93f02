"""``capsight train --test-dir`` pointing at photos that also train: the data folder itself, or a
test folder whose class folders link into it. Every test photo would be one the model learnt, and
model.json would carry an inflated test accuracy as if it were measured on unseen photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_the_data_folder_as_its_own_test_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    out = tmp_path / "model"
    assert main(["train", str(data), "--test-dir", str(data), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "also in the training data" in err and "Traceback" not in err
    assert not out.exists()


def test_a_test_folder_linking_to_training_photos_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    (tests / "circle" / "linked.jpg").symlink_to(next((data / "circle").glob("*.jpg")))
    out = tmp_path / "model"
    assert main(["train", str(data), "--test-dir", str(tests), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "1 test photo(s) are also in the training data (first: circle/linked.jpg)" in err
