"""Retention: an image goes when the last row that *stored* it goes. Rows that only name its hash
(logged with image storage off, or spooled past the spool's image budget) never stored it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_records import make_record

from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.requestlog import RequestLog


def test_an_image_sent_again_after_image_storage_was_turned_off_is_still_purged(
    database: Database, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    photo = b"the same photo, sent twice"
    sha = sha256_hex(photo)
    now = datetime.now(UTC)
    # Stored 40 days ago; sent again 20 days ago after CAPSIGHT_STORE_IMAGES=false (hash kept, no image).
    write_batch(database, blobs, [(make_record(request_id="stored", created_at=now - timedelta(days=40),
                                               image_sha256=sha), photo)])  # fmt: skip
    write_batch(database, blobs, [(make_record(request_id="hash-only", created_at=now - timedelta(days=20),
                                               image_sha256=sha), None)])  # fmt: skip
    log = RequestLog(database, blobs)
    [newer] = log.list_requests(since=now - timedelta(days=30)).items
    assert newer.image_ref is None

    first = log.purge_older_than(30)
    assert first.requests == 1
    assert first.images == 1, "no remaining row stored this image: retention must delete it"
    assert blobs.get(sha) is None
    log.purge_older_than(10)
    assert list(blobs.iter_keys()) == [], "an image the purge never deletes outlives every retention"
