"""A class folder whose photos sit one level down (``cats/2019/*.jpg``, how phones and archives
export them) is not read: the user must hear it, since the model then lacks that class."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from training_data import shape_image

from capsight.training.dataset import list_labels


def test_a_class_with_photos_only_in_sub_folders_is_a_warning_that_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rng = np.random.default_rng(0)
    for folder in ("cats/2019", "dogs", "owls"):
        (tmp_path / folder).mkdir(parents=True)
        shape_image("circle", rng, size=24).save(tmp_path / folder / "a.jpg")
    (tmp_path / "LICENSES").mkdir()
    (tmp_path / "LICENSES" / "cc0.txt").write_text("CC0\n")
    with caplog.at_level(logging.INFO, logger="capsight.training.dataset"):
        assert list_labels(tmp_path) == ("dogs", "owls")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cats/" in warnings[0] and "2019/" in warnings[0]
    # A folder of notes next to the classes stays a quiet note.
    assert any("LICENSES/" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_class_folder_that_is_a_broken_link_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # data/cats -> /mnt/usb/cats with the disk not mounted: the class vanished without a word.
    rng = np.random.default_rng(0)
    for folder in ("dogs", "owls"):
        (tmp_path / folder).mkdir()
        shape_image("square", rng, size=24).save(tmp_path / folder / "a.jpg")
    (tmp_path / "cats").symlink_to(tmp_path / "unmounted" / "cats", target_is_directory=True)
    with caplog.at_level(logging.INFO, logger="capsight.training.dataset"):
        assert list_labels(tmp_path) == ("dogs", "owls")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cats" in warnings[0] and "unmounted" in warnings[0]
