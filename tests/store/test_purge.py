"""The retention purge against a live request log: images go with their rows, and only when no row
still needs them, while the recorder keeps writing (on SQLite and on the real PostgreSQL server)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.errors import ServiceUnavailable
from capsight.store.batchwriter import BatchWriter
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.requestlog import RequestLog

OLD = datetime.now(UTC) - timedelta(days=40)
PHOTO = b"a photo sent long ago, and again while the purge runs"


class HookedBlobStore(LocalBlobStore):
    """A local store that runs ``on_delete`` before its first delete: the purge's busiest moment."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.on_delete: Callable[[], None] | None = None

    def delete(self, sha256: str) -> None:
        hook, self.on_delete = self.on_delete, None
        if hook is not None:
            hook()
        super().delete(sha256)


def test_an_image_store_failure_keeps_the_rows_for_the_next_purge(database: Database, tmp_path: Path) -> None:
    """The rows were deleted (committed) before their images; an image store that failed then left
    the images behind for ever, since no row pointed at them any more (retention not kept)."""
    blobs = HookedBlobStore(tmp_path / "images")
    write_batch(database, blobs, [(make_record(created_at=OLD, image_sha256=sha256_hex(PHOTO)), PHOTO)])

    def outage() -> None:
        raise OSError("image store unreachable")

    blobs.on_delete = outage
    log = RequestLog(database, blobs)
    with pytest.raises(ServiceUnavailable):
        log.purge_older_than(30)
    assert log.count() == 1 and blobs.exists(sha256_hex(PHOTO))
    result = log.purge_older_than(30)  # the store is back
    assert (result.requests, result.images) == (1, 1)
    assert log.count() == 0 and list(blobs.iter_keys()) == []


def test_an_image_sent_again_during_the_purge_is_kept(database: Database, tmp_path: Path) -> None:
    """The writer found the image already stored (content-addressed: not written again) and logged
    a new row for it while the purge, having seen no newer row, was about to delete it: the new row
    then pointed at nothing."""
    blobs = HookedBlobStore(tmp_path / "images")
    sha = sha256_hex(PHOTO)
    write_batch(database, blobs, [(make_record(created_at=OLD, image_sha256=sha), PHOTO)])
    writer = BatchWriter(database, blobs, tmp_path / "spool")
    fresh = make_record(request_id="fresh", image_sha256=sha)
    resend = threading.Thread(target=writer.write, args=([(fresh, PHOTO)],))

    def send_again() -> None:
        resend.start()
        resend.join(2.0)  # gives a writer that is not held back time to finish

    blobs.on_delete = send_again
    log = RequestLog(database, blobs)
    log.purge_older_than(30)
    resend.join(30)
    assert not resend.is_alive()
    [row] = log.list_requests().items
    assert row.request_id == "fresh" and row.image_ref is not None
    assert log.get_image(sha) == PHOTO
