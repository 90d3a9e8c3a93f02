"""Two class folders that are one folder (``dogs`` a link to ``cats``): every photo would be one of
both classes at once, trained under one label and tested under the other. It trained without a word."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def test_a_class_folder_linked_to_another_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    (data / "disc").symlink_to(data / "circle", target_is_directory=True)
    out = tmp_path / "model"
    assert main(["train", str(data), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "Class folders circle/ and disc/ are one folder" in err and "Traceback" not in err
    assert not out.exists()


def test_a_class_folder_linked_from_elsewhere_is_a_class(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    (data / "square").rename(tmp_path / "square-photos")
    (data / "square").symlink_to(tmp_path / "square-photos", target_is_directory=True)
    assert main(["train", str(data), "--out", str(tmp_path / "model"), *TINY]) == 0
