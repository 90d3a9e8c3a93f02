"""The same photo sent twice (a retry after a timeout, the page used again) and given the same label
both times was written once, as it should be, but the second feedback was in no line of
``capsight feedback export``'s summary: 2 feedback sent, 1 accounted for (written, unmatched,
replaced, conflicts...), so an operator checking that nothing was lost could not. It is counted
and said."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photo(width: int) -> bytes:
    return solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (width, 48))


def test_feedback_on_the_same_photo_sent_again_is_counted(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    for _ in range(3):  # one photo, three requests, the same label each time
        log_with_feedback(database, blobs, _photo(60), "opened")
    log_with_feedback(database, blobs, _photo(61), "opened")
    summary = export_feedback(FeedbackStore(database), blobs, tmp_path / "train")
    assert summary.counts == {"opened": 2}
    assert len(list((tmp_path / "train" / "opened").glob("*.jpg"))) == 2
    assert summary.same_photo_again == 2
    assert summary.conflicts == 0 and summary.replaced == 0 and summary.unmatched == 0
    assert summary.written + summary.same_photo_again == 4


def test_the_command_says_how_many_were_the_same_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    blobs = LocalBlobStore(var / "images")
    log_with_feedback(db, blobs, _photo(60), "opened")
    log_with_feedback(db, blobs, _photo(60), "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 0
    out = capsys.readouterr().out
    assert "exported 1 image to " in out
    assert "1 feedback on the same photo sent again with the same label" in out
