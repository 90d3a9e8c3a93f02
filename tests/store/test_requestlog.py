"""Query helpers for the admin endpoints, and the retention purge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record, unreachable_postgres_url

from capsight.errors import BadRequest, ServiceUnavailable
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.requestlog import RequestLog, decode_cursor, encode_cursor

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "images")


@pytest.fixture
def log(database: Database, blobs: LocalBlobStore) -> Iterator[RequestLog]:
    """Ten classifications, one a minute back from NOW, alternating labels, rising confidence."""
    items = []
    for i in range(10):
        record = make_record(
            request_id=f"req-{i}",
            created_at=NOW - timedelta(minutes=10 - i),
            label="closed" if i % 2 else "opened",
            confidence=0.5 + i * 0.05,
            client_id="key-a" if i < 5 else "key-b",
        )
        items.append((record, None))
    write_batch(database, blobs, items)
    yield RequestLog(database, blobs)


def ids(page: object) -> list[str]:
    return [item.request_id for item in page.items]  # type: ignore[attr-defined]


def test_newest_first_with_all_fields(log: RequestLog) -> None:
    page = log.list_requests(limit=3)
    assert ids(page) == ["req-9", "req-8", "req-7"]
    first = page.items[0]
    assert first.created_at == NOW - timedelta(minutes=1)
    assert (first.endpoint, first.client_id, first.label) == ("/v1/classify", "key-b", "closed")
    data = first.to_dict()
    assert data["created_at"] == first.created_at.isoformat()
    assert data["probabilities"] == {"background": 0.04, "closed": 0.91, "opened": 0.05}


def test_filters(log: RequestLog) -> None:
    assert ids(log.list_requests(label="opened")) == ["req-8", "req-6", "req-4", "req-2", "req-0"]
    assert ids(log.list_requests(min_conf=0.8)) == ["req-9", "req-8", "req-7", "req-6"]
    assert ids(log.list_requests(max_conf=0.6)) == ["req-2", "req-1", "req-0"]
    assert ids(log.list_requests(min_conf=0.6, max_conf=0.7, label="closed")) == ["req-3"]
    assert ids(log.list_requests(since=NOW - timedelta(minutes=3))) == ["req-9", "req-8", "req-7"]
    assert ids(log.list_requests(until=NOW - timedelta(minutes=8))) == ["req-1", "req-0"]
    assert ids(log.list_requests(client_id="key-a", label="closed")) == ["req-3", "req-1"]
    assert ids(log.list_requests(model_version="other")) == []


def test_cursor_pages_through_everything_once(log: RequestLog) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = log.list_requests(limit=4, cursor=cursor)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"req-{i}" for i in range(9, -1, -1)]


def test_offset_paging(log: RequestLog) -> None:
    assert ids(log.list_requests(limit=2, offset=3)) == ["req-6", "req-5"]
    assert log.list_requests(limit=5, offset=5).next_cursor is None


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"min_conf": 0.9, "max_conf": 0.1}, {"cursor": "%%%"}],
)
def test_bad_arguments_are_bad_requests(log: RequestLog, kwargs: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        log.list_requests(**kwargs)  # type: ignore[arg-type]


def test_cursor_roundtrip() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, 42)) == (at, 42)


def test_get_image(database: Database, blobs: LocalBlobStore) -> None:
    write_batch(database, blobs, [(make_record(image_sha256=sha256_hex(b"jpeg!")), b"jpeg!")])
    log = RequestLog(database, blobs)
    assert log.get_image(sha256_hex(b"jpeg!")) == b"jpeg!"
    assert log.get_image("0" * 64) is None
    assert log.get_image("../../../etc/passwd") is None  # never becomes a path
    assert log.get_image("AB" * 32) is None  # upper-case is not what we store
    assert RequestLog(database, None).get_image(sha256_hex(b"jpeg!")) is None


def test_unreachable_database_is_service_unavailable() -> None:
    log = RequestLog(Database(unreachable_postgres_url(), connect_timeout=1), None)
    with pytest.raises(ServiceUnavailable):
        log.list_requests()


def test_purge_deletes_old_rows_and_orphaned_images_only(database: Database, blobs: LocalBlobStore) -> None:
    shared, old_only, new_only = b"sent long ago and today", b"only long ago", b"only today"
    old = NOW - timedelta(days=40)
    items = [
        (make_record(request_id="old-1", created_at=old, image_sha256=sha256_hex(shared)), shared),
        (make_record(request_id="old-2", created_at=old, image_sha256=sha256_hex(old_only)), old_only),
        (make_record(request_id="old-3", created_at=old, item_index=0), None),
        (make_record(request_id="old-3", created_at=old, item_index=1), None),
        (make_record(request_id="new-1", created_at=NOW, image_sha256=sha256_hex(shared)), shared),
        (make_record(request_id="new-2", created_at=NOW, image_sha256=sha256_hex(new_only)), new_only),
    ]
    write_batch(database, blobs, items)
    log = RequestLog(database, blobs)
    result = log.purge_older_than(30, chunk=2)  # small chunks: the loop runs several times
    assert (result.requests, result.classifications, result.images) == (3, 4, 1)
    assert sorted(ids(log.list_requests())) == ["new-1", "new-2"]
    assert log.get_image(sha256_hex(old_only)) is None
    assert log.get_image(sha256_hex(shared)) == shared  # still referenced by new-1
    assert log.get_image(sha256_hex(new_only)) == new_only
    assert log.purge_older_than(30).requests == 0


def test_purge_takes_old_feedback_with_it(database: Database, blobs: LocalBlobStore) -> None:
    """Feedback names requests and carries client notes: it goes when retention says they go."""
    from capsight.store.feedback import FeedbackEntry, FeedbackStore
    from capsight.store.models import FeedbackRow

    store = FeedbackStore(database)
    entry = FeedbackEntry("r", 0, "key-a", False, "bottle-status", "opened", note="my kitchen")
    old_id, new_id = store.add(entry), store.add(entry)
    with database.session() as session, session.begin():
        session.get(FeedbackRow, old_id).created_at = NOW - timedelta(days=40)  # type: ignore[union-attr]
    result = RequestLog(database, blobs).purge_older_than(30)
    assert result.feedback == 1
    with database.session() as session:
        assert [row.id for row in session.query(FeedbackRow)] == [new_id]


def test_purge_needs_positive_days(log: RequestLog) -> None:
    with pytest.raises(BadRequest):
        log.purge_older_than(0)
