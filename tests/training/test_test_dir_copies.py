"""``capsight train --test-dir`` with copies (not links) of training photos in the test folder.

Why: a test folder made by copying photos out of the data folder, originals left behind, passed the
check (it compared resolved paths only): the test accuracy in model.json was measured on photos the
model had trained on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_a_test_folder_holding_copies_of_training_photos_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    original = sorted((data / "square").glob("*.png"))[0]
    shutil.copyfile(original, tests / "square" / "copied.png")
    out = tmp_path / "model"
    assert main(["train", str(data), "--test-dir", str(tests), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "1 test photo(s) are also in the training data (first: square/copied.png" in err
    assert f"square/{original.name}" in err
    assert not out.exists()


def test_a_test_folder_of_other_photos_trains(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    out = tmp_path / "model"
    assert main(["train", str(data), "--test-dir", str(tests), "--out", str(out), *TINY]) == 0
