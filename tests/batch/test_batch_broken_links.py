"""A photo folder holding a symbolic link whose photo is gone (a moved library, an unmounted disk).

Found in review: its error row said ``FileNotFoundError: No such file or directory`` of a file that
``ls`` shows right there; the user could not tell it from a file deleted mid-run. The row now says
it is a link and where it points.
"""

from __future__ import annotations

import csv
from pathlib import Path

from capsight.batch import run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_link_to_a_missing_photo_is_said_to_be_one(classifier: OnnxClassifier, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "ok.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    target = tmp_path / "unmounted" / "IMG_0001.jpg"
    (photos / "IMG_0001.jpg").symlink_to(target)

    summary = run_batch([str(photos)], tmp_path / "out", classifier)

    assert (summary.total, summary.errors) == (2, 1)
    with open(tmp_path / "out" / "results.csv", newline="", encoding="utf-8") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    error = rows[str(photos / "IMG_0001.jpg")]["error"]
    assert error == f"FileNotFoundError: A symbolic link to {target}, which does not exist.", error
