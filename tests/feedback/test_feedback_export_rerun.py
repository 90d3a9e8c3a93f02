"""``capsight feedback export`` run again (daily, from cron, before each retraining) said
"exported 12 images ... 6 corrections" each time, whether or not any feedback had come since: the
count is of the feedback images the folder holds, and nothing told the operator that this run
added none, i.e. that a retraining on the folder would learn nothing new. It says how many images
this run wrote (new, or moved to a new label), "nothing new" when none."""

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


def test_a_rerun_counts_only_the_images_it_wrote(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    out = tmp_path / "train"
    log_with_feedback(database, blobs, _photo("opened", 60), "opened")
    request_id = log_with_feedback(database, blobs, _photo("closed", 61), "closed")
    store = FeedbackStore(database)
    assert export_feedback(store, blobs, out).added == 2
    again = export_feedback(store, blobs, out)
    assert (again.written, again.added) == (2, 0)
    log_with_feedback(database, blobs, _photo("opened", 62), "opened")
    assert export_feedback(store, blobs, out).added == 1
    # A relabelled image moves to another folder: the training data changed.
    store.add(FeedbackEntry(request_id, 0, "key-a", False, "bottle-status", "background"))
    moved = export_feedback(store, blobs, out)
    assert (moved.written, moved.added) == (3, 1)


def test_the_command_says_when_a_rerun_brought_nothing_new(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    blobs = LocalBlobStore(var / "images")
    log_with_feedback(db, blobs, _photo("opened", 60), "opened")
    log_with_feedback(db, blobs, _photo("closed", 61), "closed")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    out = str(tmp_path / "train")
    assert main(["feedback", "export", "--out", out]) == 0
    first = capsys.readouterr().out
    assert "2 new in the folder" in first
    assert main(["feedback", "export", "--out", out]) == 0
    second = capsys.readouterr().out
    assert "nothing new since the last export" in second
    assert "2 new" not in second
