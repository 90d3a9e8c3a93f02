"""Feedback on a photo the training folder already holds (a reviewer tries the upload page with a
photo of the data set and answers "Is this right?"). ``feedback export --out data/`` wrote it again
under its digest: a confirmation made it a duplicate training photo, and when the original is in
the test split, a candidate trained on a photo it is then scored on (promote favoured it); a
correction put the same photo under two labels. Such a photo is not copied: a confirmation is
counted as already there, a correction is named so the original can be moved by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for label in LABEL_COLOURS:
        (data / label).mkdir(parents=True)
    return data


def test_feedback_on_photos_of_the_training_folder_is_not_copied_again(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    confirmed = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (64, 48))
    relabelled = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (66, 48))
    same_size_other = bytearray(relabelled)
    same_size_other[-3] ^= 0xFF  # same length, other bytes: a different photo
    new = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (70, 48))
    (data / "closed" / "IMG_1.jpg").write_bytes(confirmed)
    (data / "closed" / "IMG_2.jpg").write_bytes(relabelled)
    (data / "closed" / "IMG_3.jpg").write_bytes(bytes(same_size_other))
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    blobs = LocalBlobStore(var / "images")
    log_with_feedback(db, blobs, confirmed, "closed")
    log_with_feedback(db, blobs, relabelled, "opened")
    log_with_feedback(db, blobs, new, "opened")

    summary = export_feedback(FeedbackStore(db), blobs, data)
    db.dispose()

    assert summary.counts == {"opened": 1}
    assert (data / "opened" / f"{sha256_hex(new)}.jpg").read_bytes() == new
    assert not (data / "closed" / f"{sha256_hex(confirmed)}.jpg").exists()
    assert not (data / "opened" / f"{sha256_hex(relabelled)}.jpg").exists()
    assert summary.already_there == 1
    assert summary.relabels_of_folder_photos == [("closed/IMG_2.jpg", "opened")]

    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(data)]) == 0
    out = capsys.readouterr().out
    assert "1 feedback on a photo already in the folder (the same bytes): not copied again" in out
    assert "closed/IMG_2.jpg is 'opened' by feedback: move it by hand" in out
