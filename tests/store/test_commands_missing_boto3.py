"""`capsight db purge` / `feedback export` on a core install pointed at S3 name the missing extra.

``make serve`` installs the core only (no boto3). ``capsight serve`` with ``CAPSIGHT_STORAGE_URL=
s3://...`` stops at start-up saying ``CAPSIGHT_STORAGE_URL needs boto3 (pip install
'capsight[s3]')``, but the commands an operator runs beside it reached the bucket only when they had
an image to delete or copy: the purge then said "Image store unavailable (No module named 'boto3');
the rows of its images are kept for the next purge", which reads as an outage to wait out, and the
export of feedback on a stored image printed "exported 0 images ... 0 corrections", exit 0.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.cli import main
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.logwriter import write_batch

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

NEEDS = (
    "capsight: error: CAPSIGHT_STORAGE_URL needs boto3, which this install lacks (pip install 'capsight[s3]'"
)
PHOTO = b"\xff\xd8 a photo classified long ago"


def _log_an_old_answer_with_feedback(data_dir: Path) -> None:
    """What a server wrote: an old request with its stored image, and feedback on it."""
    db = Database(f"sqlite:///{data_dir / 'capsight.db'}")
    try:
        db.ensure_ready()
        old = datetime.now(UTC) - timedelta(days=10)
        record = make_record(created_at=old, image_sha256=sha256_hex(PHOTO))
        write_batch(db, LocalBlobStore(data_dir / "images"), [(record, PHOTO)])
        FeedbackStore(db).add(FeedbackEntry(record.request_id, 0, "key-a", False, "bottle-status", "opened"))
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "argv",
    [["db", "purge", "--older-than-days", "3"], ["feedback", "export", "--out", "{tmp}/out"]],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_an_s3_storage_url_without_boto3_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    _log_an_old_answer_with_feedback(data_dir)
    monkeypatch.setitem(sys.modules, "boto3", None)  # what a core install lacks: import fails
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CAPSIGHT_STORAGE_URL", "s3://capsight-images/images")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(NEEDS), err
    assert err.count("\n") == 1
    # nothing was done half-way: the log still holds the request it could not purge
    db = Database(f"sqlite:///{data_dir / 'capsight.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM requests").scalar() == 1
    finally:
        db.dispose()
