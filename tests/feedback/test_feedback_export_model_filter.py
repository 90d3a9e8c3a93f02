"""``capsight feedback export --model NAME`` with a name no answer has (a typo, ``Shop`` for
``shop``, the version instead of the name) said "exported 0 images (none): 0 corrections" and
exit 0: every feedback was left out without a word, as if clients had sent none. The feedback
the filter left out is counted, with the names of the models that gave those answers."""

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


def test_feedback_left_out_by_the_model_filter_is_counted(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    log_with_feedback(database, blobs, _photo("opened", 60), "opened")  # answered by bottle-status
    log_with_feedback(database, blobs, _photo("closed", 61), "closed")
    store = FeedbackStore(database)
    typo = export_feedback(store, blobs, tmp_path / "a", model_name="Bottle-Status")
    assert (typo.written, typo.other_models) == (0, {"bottle-status": 2})
    right = export_feedback(store, blobs, tmp_path / "b", model_name="bottle-status")
    assert (right.written, right.other_models) == (2, {})


def test_the_command_names_the_models_it_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    log_with_feedback(db, LocalBlobStore(var / "images"), _photo("opened", 60), "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "train"), "--model", "Bottle-Status"]) == 0
    out = capsys.readouterr().out
    assert "exported 0 images" in out
    assert "1 feedback on answers of other models left out by --model: bottle-status 1" in out
