"""A data folder laid out as train/ and test/ folders of class folders (the layout of most downloaded
datasets) is refused with the way to train on it, not with advice that would break it.

Why: the refusal said "No class folders" after a warning per folder to "move them into train/ to
make it a class", which would have made one class of every photo of the training set. The class
folders are one level down: the fix is to pass that folder as DATA_DIR (and the test one as
--test-dir).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main
from capsight.training.dataset import list_labels


def test_train_and_test_folders_of_classes_get_the_right_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dataset"
    make_dataset(data / "train", per_class=3)
    shutil.copytree(data / "train", data / "test")
    out = tmp_path / "model"
    assert main(["train", str(data), "--out", str(out), "--arch", "tiny"]) == 2
    err = capsys.readouterr().err
    assert f"{data / 'test'}/ and {data / 'train'}/ hold class folders" in err
    assert "--test-dir" in err
    assert not out.exists()


def test_a_folder_of_photos_in_sub_folders_still_gets_the_move_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    make_dataset(data / "cats", per_class=2)  # cats/circle/, cats/square/... : one class's photos by year
    (data / "dogs").mkdir()
    shutil.copytree(data / "cats" / "circle", data / "dogs" / "circle")
    assert main(["train", str(data), "--out", str(tmp_path / "model"), "--arch", "tiny"]) == 2
    assert "No class folders in" in capsys.readouterr().err


def test_a_test_folder_of_classes_beside_the_classes_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    make_dataset(data / "test", per_class=2)
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataset"):
        assert list_labels(data) == ("circle", "square", "triangle")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "ignoring test/: it holds class folders, which are not read; to test on it, pass it to capsight "
        "train as --test-dir"
    ]
