"""Photos lying directly in DATA_DIR, beside the class folders, are named in a warning.

Why: only ``DATA_DIR/<label>/*`` is read, and photos dropped one level too high (a drag into the
wrong window, a sync that flattened a folder) were left out without a word: the run trained and
scored without them, and the counts in model.json were the only trace.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.training.dataset import list_labels


def test_photos_beside_the_class_folders_are_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    for photo in sorted((data / "circle").iterdir())[:2]:
        shutil.copyfile(photo, data / f"loose-{photo.name}")
    (data / "PROVENANCE.csv").write_text("file,label\n")  # not a photo: no warning for it
    (data / ".DS_Store").write_bytes(b"\x00")
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataset"):
        assert list_labels(data) == ("circle", "square", "triangle")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "2 photos directly in" in warnings[0] and "loose-" in warnings[0]
    assert "PROVENANCE" not in warnings[0]
    assert "<label>/" in warnings[0]


def test_no_warning_without_loose_photos(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    (data / "PROVENANCE.csv").write_text("file,label\n")
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataset"):
        list_labels(data)
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []


def test_one_loose_photo_is_counted_in_the_singular(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The warning read "ignoring 1 photos directly in ..."."""
    data = make_dataset(tmp_path / "data", per_class=3)
    photo = sorted((data / "circle").iterdir())[0]
    shutil.copyfile(photo, data / f"loose-{photo.name}")
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataset"):
        list_labels(data)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("ignoring 1 photo directly in "), warnings[0]
