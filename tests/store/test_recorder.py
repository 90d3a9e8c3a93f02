"""The request recorder on SQLite and PostgreSQL: batching, idempotency, images, spooling."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_records import make_record, unreachable_postgres_url

from capsight.store.blobs import LocalBlobStore, blob_key, sha256_hex
from capsight.store.database import Database
from capsight.store.models import ClassificationRow, RequestRow
from capsight.store.recorder import DatabaseRecorder, RecorderConfig

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def count(db: Database, model: type[ClassificationRow] | type[RequestRow] = ClassificationRow) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "images")


@pytest.fixture
def recorder(database: Database, blobs: LocalBlobStore, tmp_path: Path) -> Iterator[DatabaseRecorder]:
    rec = DatabaseRecorder(database, blobs, tmp_path / "spool", FAST).start()
    yield rec
    rec.close()


def test_records_are_written_with_every_field(recorder: DatabaseRecorder, database: Database) -> None:
    image = b"\x89PNG fake image bytes"
    created = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    record = make_record(created_at=created, image_bytes=len(image), cached=True, status_code=200)
    recorder.submit(record, image)
    assert recorder.flush(10)
    with database.session() as session:
        row = session.scalars(select(ClassificationRow)).one()
        request = session.get(RequestRow, record.request_id)
    sha = sha256_hex(image)
    assert row.request_id == record.request_id
    assert row.created_at == created
    assert (row.model_name, row.model_version, row.label) == ("bottle-status", "test-1", "closed")
    assert row.confidence == pytest.approx(0.91)
    assert row.probabilities == {"background": 0.04, "closed": 0.91, "opened": 0.05}
    assert (row.image_sha256, row.image_bytes, row.image_format) == (sha, len(image), "png")
    assert (row.width, row.height, row.cached) == (32, 24, True)
    assert row.image_ref == blob_key(sha)
    assert request is not None
    assert (request.endpoint, request.client_id, request.status_code) == ("/v1/classify", "203.0.113.7", 200)
    assert recorder.stats().written == 1


def test_many_records_in_batches(recorder: DatabaseRecorder, database: Database) -> None:
    for _ in range(230):
        recorder.submit(make_record(), None)
    assert recorder.flush(20)
    assert count(database) == 230
    assert recorder.stats().submitted == 230


def test_inserts_are_idempotent(recorder: DatabaseRecorder, database: Database) -> None:
    """Replays re-send records that may already be in: the unique keys make that a no-op."""
    record = make_record()
    recorder.submit(record, None)
    recorder.submit(record, None)
    assert recorder.flush(10)
    recorder.submit(record, None)
    assert recorder.flush(10)
    assert count(database) == 1
    assert count(database, RequestRow) == 1


def test_multi_image_request_logs_one_row_per_item(recorder: DatabaseRecorder, database: Database) -> None:
    request_id = "batch-request-1"
    for index, label in enumerate(["closed", "opened", "background"]):
        recorder.submit(make_record(request_id=request_id, item_index=index, label=label), None)
    assert recorder.flush(10)
    with database.session() as session:
        labels = session.scalars(select(ClassificationRow.label).order_by(ClassificationRow.item_index)).all()
    assert labels == ["closed", "opened", "background"]
    assert count(database, RequestRow) == 1


def test_same_image_is_stored_once(
    recorder: DatabaseRecorder, database: Database, blobs: LocalBlobStore
) -> None:
    image = b"identical bytes"
    for _ in range(3):
        recorder.submit(make_record(), image)
    recorder.submit(make_record(), b"other bytes")
    assert recorder.flush(10)
    assert sorted(blobs.iter_keys()) == sorted({sha256_hex(image), sha256_hex(b"other bytes")})
    assert count(database) == 4


def test_given_hash_is_kept_and_missing_hash_is_computed(
    recorder: DatabaseRecorder, database: Database
) -> None:
    recorder.submit(make_record(request_id="no-hash"), b"abc")
    recorder.submit(make_record(request_id="no-image", image_sha256="f" * 64), None)
    assert recorder.flush(10)
    with database.session() as session:
        rows = {r.request_id: r for r in session.scalars(select(ClassificationRow))}
    assert rows["no-hash"].image_sha256 == sha256_hex(b"abc")
    assert rows["no-hash"].image_ref is not None
    assert rows["no-image"].image_sha256 == "f" * 64
    assert rows["no-image"].image_ref is None  # nothing stored, so no reference


def test_store_images_off_keeps_hash_but_no_image(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    config = RecorderConfig(store_images=False, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config).start()
    recorder.submit(make_record(), b"private photo")
    assert recorder.flush(10)
    recorder.close()
    assert list(blobs.iter_keys()) == []
    with database.session() as session:
        row = session.scalars(select(ClassificationRow)).one()
    assert row.image_sha256 == sha256_hex(b"private photo")
    assert row.image_ref is None


def test_overlong_fields_are_clipped_not_rejected(recorder: DatabaseRecorder, database: Database) -> None:
    recorder.submit(make_record(client_id="x" * 500, endpoint="/e" * 300, label="l" * 400), None)
    assert recorder.flush(10)
    with database.session() as session:
        row = session.scalars(select(ClassificationRow)).one()
    assert row.label == "l" * 200
    assert recorder.stats().rejected == 0


def test_close_writes_what_is_queued(database: Database, tmp_path: Path) -> None:
    recorder = DatabaseRecorder(database, None, tmp_path / "spool", FAST).start()
    for _ in range(40):
        recorder.submit(make_record(), None)
    recorder.close()
    assert count(database) == 40


def test_submit_after_close_is_spooled_for_the_next_process(database: Database, tmp_path: Path) -> None:
    first = DatabaseRecorder(database, None, tmp_path / "spool", FAST).start()
    first.close()
    first.submit(make_record(request_id="late"), None)  # e.g. a request finishing during shutdown
    assert first.spool.pending == 1
    second = DatabaseRecorder(database, None, tmp_path / "spool", FAST).start()
    assert second.flush(10)
    second.close()
    assert count(database) == 1


def test_unreachable_database_spools_and_submit_never_raises(tmp_path: Path) -> None:
    db = Database(unreachable_postgres_url(), connect_timeout=1)
    recorder = DatabaseRecorder(db, None, tmp_path / "spool", FAST).start()
    for i in range(25):
        recorder.submit(make_record(request_id=f"r{i}"), None)
    assert not recorder.flush(0.5)  # cannot finish: the database is down
    stats = recorder.stats()
    assert stats.degraded and stats.spooled == 25 and stats.written == 0
    recorder.close()
    lines = (tmp_path / "spool").glob("*.jsonl")
    ids = {
        json.loads(line)["record"]["request_id"] for path in lines for line in path.read_text().splitlines()
    }
    assert ids == {f"r{i}" for i in range(25)}


def test_image_store_failure_spools_then_replays(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real local fault: a file sits where the image folder must be, so writing images fails."""
    root = tmp_path / "images"
    root.write_bytes(b"not a directory")
    recorder = DatabaseRecorder(database, LocalBlobStore(root), tmp_path / "spool", FAST).start()
    with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
        for i in range(10):
            recorder.submit(make_record(request_id=f"img{i}"), f"image {i}".encode())
        # Spooled once the writer thread is up (its first migration can take seconds on a busy CI).
        deadline = time.monotonic() + 10
        while recorder.stats().spooled < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        # All spooled: only their replay is left, and it cannot come, so flush() waits out any timeout
        # (a whole 0.5 s before; a recorder that did not wait for its spool returns True at once).
        assert not recorder.flush(0.1)
    assert recorder.stats().degraded
    assert recorder.stats().spooled == 10
    assert sum("image store unavailable" in r.getMessage() for r in caplog.records) == 1
    assert count(database) == 0, "no row may point at an image that was not stored"

    root.unlink()  # the fault is repaired
    assert recorder.flush(10)
    recorder.close()
    assert count(database) == 10
    stored = LocalBlobStore(root)
    assert stored.get(sha256_hex(b"image 7")) == b"image 7"
    assert list(recorder.spool.blobs.iter_keys()) == [], "spooled images are removed after the replay"


def test_with_no_image_store_and_no_spool_the_rows_are_still_written(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk takes the image store and the spool at once: the rows (the log) are kept without
    their images instead of being lost. Real faults: files where both folders must be."""
    (tmp_path / "images").write_bytes(b"not a directory")
    (tmp_path / "spool").write_bytes(b"not a directory either")
    recorder = DatabaseRecorder(
        database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", FAST
    ).start()
    with caplog.at_level(logging.ERROR, logger="capsight.store.recorder"):
        for i in range(6):
            recorder.submit(make_record(request_id=f"full{i}"), f"image {i}".encode())
        deadline = time.monotonic() + 10
        while count(database) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
    recorder.close()
    assert count(database) == 6
    with database.session() as session:
        assert session.scalars(select(ClassificationRow.image_ref)).all() == [None] * 6
    assert "wrote their rows without the images" in caplog.text
    assert "they are lost" not in caplog.text


def test_queue_overflow_goes_to_the_spool_not_to_memory(database: Database, tmp_path: Path) -> None:
    config = RecorderConfig(queue_max_bytes=100, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    # Not started: the queue only fills. The third image exceeds the 100-byte memory budget.
    for i in range(3):
        recorder.submit(make_record(request_id=f"o{i}"), bytes([i]) * 45)
    deadline = time.monotonic() + 10  # spooled by the overflow's own thread, not by the caller's
    while (recorder.spool.pending < 1 or recorder.stats().queued > 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.spool.pending == 1
    assert recorder.stats().queued == 2  # the overflow's record counted as queued until spooled
    recorder.start()
    assert recorder.flush(10)
    recorder.close()
    assert count(database) == 3


@pytest.mark.postgres
def test_record_refused_by_the_database_is_set_aside(pg_db: Database, tmp_path: Path) -> None:
    """A record PostgreSQL rejects as data (NaN is not valid JSON) must not block the others."""
    recorder = DatabaseRecorder(pg_db, None, tmp_path / "spool", FAST).start()
    recorder.submit(make_record(request_id="good-1"), None)
    recorder.submit(make_record(request_id="bad", probabilities={"closed": math.nan}), None)
    recorder.submit(make_record(request_id="good-2"), None)
    assert recorder.flush(10)
    recorder.close()
    with pg_db.session() as session:
        assert set(session.scalars(select(ClassificationRow.request_id))) == {"good-1", "good-2"}
    assert recorder.stats().rejected == 1
    rejected = [json.loads(line) for line in (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()]
    assert [r["record"]["request_id"] for r in rejected] == ["bad"]


def test_retention_purges_old_rows_and_images_in_the_background(database: Database, tmp_path: Path) -> None:
    from datetime import timedelta

    from capsight.store.logwriter import write_batch

    blobs = LocalBlobStore(tmp_path / "images")
    old = datetime.now(UTC) - timedelta(days=40)
    write_batch(database, blobs, [(make_record(created_at=old, image_sha256=sha256_hex(b"old")), b"old")])
    write_batch(database, blobs, [(make_record(request_id="recent"), None)])
    config = RecorderConfig(retry_initial_s=0.05, retention_days=30)
    recorder = DatabaseRecorder(database, blobs, tmp_path / "spool", config).start()
    deadline = time.monotonic() + 10
    while count(database) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    recorder.close()
    with database.session() as session:
        assert session.scalars(select(ClassificationRow.request_id)).all() == ["recent"]
    assert list(blobs.iter_keys()) == []


def _commits_while_trickling(database: Database, tmp_path: Path, linger_s: float) -> int:
    """Submit 20 records 10 ms apart (a steady trickle, like live traffic); count the commits."""
    from sqlalchemy import event

    config = RecorderConfig(batch_size=500, retry_initial_s=0.05, linger_s=linger_s)
    # Migrated first: only the log's own transactions are counted. (A record written to warm up
    # waited out a whole linger.)
    database.migrate()
    recorder = DatabaseRecorder(database, None, tmp_path / f"spool-{linger_s}", config).start()
    try:
        commits: list[float] = []
        listener = lambda _conn: commits.append(time.monotonic())  # noqa: E731
        event.listen(database.engine, "commit", listener)
        try:
            for i in range(20):
                recorder.submit(make_record(request_id=f"trickle-{linger_s}-{i}"), None)
                time.sleep(0.01)
            assert recorder.flush(10)
        finally:
            event.remove(database.engine, "commit", listener)
        return len(commits)
    finally:
        recorder.close()


def test_a_trickle_of_records_is_gathered_into_few_transactions(database: Database, tmp_path: Path) -> None:
    # The lingering batch waits out its linger: 0.5 s, not 1 s, halves the test.
    lingering = _commits_while_trickling(database, tmp_path, linger_s=0.5)
    eager = _commits_while_trickling(database, tmp_path, linger_s=0.0)
    assert lingering <= 2  # 200 ms of trickle inside one 0.5 s linger (a slow CI machine may split it)
    assert eager > lingering
    assert count(database) == 40
