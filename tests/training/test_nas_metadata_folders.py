"""A photo folder on a Synology NAS holds ``@eaDir/<photo>/SYNOPHOTO_THUMB_*.jpg`` thumbnails beside the
photos. ``capsight batch`` never reads them; ``capsight train`` took a root ``@eaDir/`` for a class
("No usable photo in class folder(s) @eaDir", the run refused) and warned of every class's own
``@eaDir/`` as "photos in sub-folders of a class are not read". Training reads neither, as batch."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.training.class_folders import list_labels
from capsight.training.dataset import scan_folder


def _nas_folder(root: Path) -> Path:
    data = make_dataset(root, per_class=3)
    photo = next((data / "circle").iterdir())
    for where in (data / "@eaDir" / photo.name, data / "circle" / "@eaDir" / photo.name):
        where.mkdir(parents=True)
        shutil.copy(photo, where / f"SYNOPHOTO_THUMB_S{photo.suffix}")
    return data


def test_nas_thumbnail_folders_are_no_class_and_no_photos(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _nas_folder(tmp_path / "data")
    with caplog.at_level(logging.INFO):
        labels = list_labels(data)
        samples = scan_folder(data, labels)
    assert labels == ("circle", "square", "triangle")
    assert not [s for s in samples if "@eaDir" in s.relpath]
    assert not [r.getMessage() for r in caplog.records if "@eaDir" in r.getMessage()]
