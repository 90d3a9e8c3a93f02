"""``capsight feedback export --out data/`` into the training folder itself (the README's loop):
each exported image looked for its copies under other labels by listing every class folder again,
so an export took (images x files in the folder): a minute per thousand images on a 100k-photo
folder. The folder is listed once per export, whatever the number of images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


def _listings_of_class_folders(
    tmp_path: Path, name: str, images: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, Path]:
    db = Database(f"sqlite:///{tmp_path / f'{name}.db'}")
    blobs = LocalBlobStore(tmp_path / f"{name}-images")
    out = tmp_path / name
    labels = list(LABEL_COLOURS)
    for label in labels:  # the photos the folder already trains on
        (out / label).mkdir(parents=True)
        for i in range(5):
            (out / label / f"IMG_{i}.jpg").write_bytes(b"photo")
    # A correction moved since an earlier export: its old copy must still go.
    moved = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (70, 48))
    (out / "closed" / f"{sha256_hex(moved)}.jpg").write_bytes(moved)
    log_with_feedback(db, blobs, moved, "opened")
    for i in range(images - 1):
        image = solid_image_bytes(LABEL_COLOURS[labels[i % 3]], "JPEG", (80 + i, 48))
        log_with_feedback(db, blobs, image, labels[i % 3])

    class_folders = {str(out / label) for label in labels}
    listed = 0
    real_scandir, real_listdir = os.scandir, os.listdir

    def counting_scandir(path: Any = ".") -> Any:
        nonlocal listed
        listed += os.fspath(path) in class_folders
        return real_scandir(path)

    def counting_listdir(path: Any = ".") -> Any:
        nonlocal listed
        listed += os.fspath(path) in class_folders
        return real_listdir(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", counting_scandir)
        patch.setattr(os, "listdir", counting_listdir)
        summary = export_feedback(FeedbackStore(db), blobs, out)
    db.dispose()
    assert summary.written == images
    assert not (out / "closed" / f"{sha256_hex(moved)}.jpg").exists()
    assert (out / "opened" / f"{sha256_hex(moved)}.jpg").read_bytes() == moved
    assert all((out / label / f"IMG_{i}.jpg").is_file() for label in labels for i in range(5))
    return listed, out


def test_the_training_folder_is_listed_once_per_export_not_once_per_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few, _ = _listings_of_class_folders(tmp_path, "few", 2, monkeypatch)
    many, _ = _listings_of_class_folders(tmp_path, "many", 12, monkeypatch)
    assert many == few


def test_a_class_folder_that_cannot_be_listed_does_not_stop_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of the training tree the exporter may not list (another account's photos) holds
    no copy it could remove either: the export goes on, as it did when it looked image by image."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    blobs = LocalBlobStore(tmp_path / "images")
    out = tmp_path / "train"
    (out / "private").mkdir(parents=True)
    image = solid_image_bytes(LABEL_COLOURS["opened"])
    log_with_feedback(db, blobs, image, "opened")
    private = str(out / "private")
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir_refusing(path: Any = ".") -> Any:
        if os.fspath(path) == private:
            raise PermissionError(13, "Permission denied", private)
        return real_scandir(path)

    def listdir_refusing(path: Any = ".") -> Any:
        if os.fspath(path) == private:
            raise PermissionError(13, "Permission denied", private)
        return real_listdir(path)

    monkeypatch.setattr(os, "scandir", scandir_refusing)
    monkeypatch.setattr(os, "listdir", listdir_refusing)
    summary = export_feedback(FeedbackStore(db), blobs, out)
    db.dispose()
    assert summary.counts == {"opened": 1}
