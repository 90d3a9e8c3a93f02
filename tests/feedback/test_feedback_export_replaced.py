"""Feedback that a later feedback on the same answer replaced (a client that changed its mind, a
retry, the page's button pressed twice) was dropped without a word by ``capsight feedback
export``: 19 feedback sent, and the summary accounted for 18 (written, unmatched, conflicts...),
so an operator checking that nothing was lost could not. It is counted and said."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photo(label: str, width: int) -> bytes:
    return solid_image_bytes(LABEL_COLOURS[label], "JPEG", (width, 48))


def _again(db: Database, request_id: str, label: str, *, admin: bool = False) -> None:
    client = "admin-key" if admin else "key-a"
    FeedbackStore(db).add(FeedbackEntry(request_id, 0, client, admin, "bottle-status", label))


def test_feedback_replaced_on_the_same_answer_is_counted(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    changed_mind = log_with_feedback(database, blobs, _photo("opened", 60), "background")
    _again(database, changed_mind, "opened")
    twice = log_with_feedback(database, blobs, _photo("closed", 61), "closed")
    _again(database, twice, "closed")
    reviewed = log_with_feedback(database, blobs, _photo("closed", 62), "closed")
    _again(database, reviewed, "opened", admin=True)
    _again(database, reviewed, "closed")  # later, but the admin's word stands
    summary = export_feedback(FeedbackStore(database), blobs, tmp_path / "train")
    assert summary.counts == {"closed": 1, "opened": 2}
    assert summary.replaced == 4
    accounted = summary.written + summary.unmatched + summary.not_stored + summary.conflicts
    assert accounted + summary.failed + summary.replaced == 7


def test_the_command_says_how_many_were_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    blobs = LocalBlobStore(var / "images")
    request_id = log_with_feedback(db, blobs, _photo("opened", 60), "background")
    _again(db, request_id, "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 0
    out = capsys.readouterr().out
    assert "exported 1 image to " in out
    assert "1 feedback replaced by later feedback on the same answer" in out
