"""``capsight feedback export`` when the image a feedback names is not in the image store it reads.

Why: both cases were reported as "logged without its image (CAPSIGHT_STORE_IMAGES off, or purged)",
which is what the request log says is not so (it names where the image was stored):
- an export run without the server's CAPSIGHT_STORAGE_URL (the server stores in S3, the export read
  the local folder) exported 0 images, exit 0, with that line for every feedback: the fix is a
  setting, not a lost image;
- an image deleted from the store since it was logged (by hand, an S3 lifecycle rule).
Real moto S3 server, real SQLite request log written by the server's writer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from feedback_records import log_with_feedback

from capsight.cli import main
from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore, blob_key, open_blob_store, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from model_factory import LABEL_COLOURS, solid_image_bytes
from servers import S3Server


def _photo(i: int) -> bytes:
    return solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (64 + i, 48))


def test_an_image_deleted_from_the_store_is_said_to_be_missing(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    kept, gone = _photo(0), _photo(1)
    log_with_feedback(database, blobs, kept, "opened")
    log_with_feedback(database, blobs, gone, "opened")
    (tmp_path / "images" / blob_key(sha256_hex(gone))).unlink()  # deleted by hand since
    summary = export_feedback(FeedbackStore(database), blobs, tmp_path / "train")
    assert (summary.written, summary.missing, summary.not_stored) == (1, 1, 0)


def test_an_export_reading_another_image_store_says_where_the_images_are(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Server,
    s3_credentials: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3_server.create_bucket()
    server_store = open_blob_store(f"s3://{bucket}/imgs", s3_endpoint_url=s3_server.endpoint_url)
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'capsight.db'}")
    for i in range(3):  # the server, storing its images in S3
        log_with_feedback(db, server_store, _photo(i), "opened")
    summary = export_feedback(FeedbackStore(db), LocalBlobStore(tmp_path / "var" / "images"), tmp_path / "a")
    assert (summary.written, summary.not_stored, summary.missing) == (0, 0, 0)
    assert summary.elsewhere == {f"s3://{bucket}/imgs": 3}
    # The same store as the server's: every image is there.
    assert export_feedback(FeedbackStore(db), server_store, tmp_path / "b").written == 3
    server_store.delete(sha256_hex(_photo(0)))  # a lifecycle rule deleted one: missing, not elsewhere
    summary = export_feedback(FeedbackStore(db), server_store, tmp_path / "c")
    assert (summary.written, summary.missing, summary.elsewhere) == (2, 1, {})
    db.dispose()

    # The command, run without the server's CAPSIGHT_STORAGE_URL, names the store and the setting.
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "logged without its image" not in out
    assert f"3 feedback on images the server stored in s3://{bucket}/imgs" in out
    assert "CAPSIGHT_STORAGE_URL" in out


def test_the_command_says_a_missing_image_may_be_in_the_servers_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder's key does not say which folder: the export may read another than the server's."""
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'capsight.db'}")
    log_with_feedback(db, LocalBlobStore(tmp_path / "server-images"), _photo(0), "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 0
    out = capsys.readouterr().out
    assert "1 feedback whose stored image is not in the image store" in out
    assert "CAPSIGHT_DATA_DIR" in out and "logged without its image" not in out
