"""An --out inside the --test-dir folder is refused before the run, as one inside DATA_DIR is.

Why: the run wrote its model folder (report PNGs included) into the test folder, which then held a
class "model": the next run with the same --test-dir failed with "Test folder has classes missing
from the training data: model", and capsight evaluate on the folder scored the report figures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from capsight.cli import main


def test_out_inside_the_test_folder_is_refused(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_dir = tmp_path / "test-photos"
    for label in ("circle", "square", "triangle"):
        (test_dir / label).mkdir(parents=True)
        for photo in sorted((shapes_dir / label).glob("*.png"))[:2]:
            shutil.copyfile(photo, test_dir / label / f"t-{photo.name}")
    before = sorted(p.relative_to(test_dir) for p in test_dir.rglob("*"))
    data = tmp_path / "data"
    shutil.copytree(shapes_dir, data, ignore=shutil.ignore_patterns("*.png"))
    rc = main(
        [
            *("train", str(data), "--test-dir", str(test_dir), "--out", str(test_dir / "model")),
            *("--arch", "tiny", "--epochs", "1", "--image-size", "24"),
        ]
    )
    assert rc == 2
    assert "is inside the test folder" in capsys.readouterr().err
    assert sorted(p.relative_to(test_dir) for p in test_dir.rglob("*")) == before
