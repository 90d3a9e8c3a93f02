"""``capsight feedback export --corrections-only`` said "1 corrections, 0 confirmations" when
clients had confirmed answers too: the confirmations it left out were counted nowhere, so the
summary read as if there were none. It counts them."""

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


def _photo(label: str, width: int) -> bytes:
    return solid_image_bytes(LABEL_COLOURS[label], "JPEG", (width, 48))


def _log_two(db: Database, blobs: LocalBlobStore) -> None:
    log_with_feedback(db, blobs, _photo("opened", 60), "opened")  # the model said closed
    log_with_feedback(db, blobs, _photo("closed", 61), "closed")  # a confirmation


def test_confirmations_left_out_are_counted(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    _log_two(database, blobs)
    summary = export_feedback(FeedbackStore(database), blobs, tmp_path / "train", corrections_only=True)
    assert (summary.written, summary.corrections, summary.confirmations) == (1, 1, 0)
    assert summary.confirmations_left_out == 1


def test_the_command_says_it_left_confirmations_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    _log_two(db, LocalBlobStore(var / "images"))
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "train"), "--corrections-only"]) == 0
    assert "1 feedback confirming the model's answer left out (--corrections-only)" in capsys.readouterr().out
