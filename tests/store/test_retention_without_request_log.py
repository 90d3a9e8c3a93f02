"""CAPSIGHT_RETENTION_DAYS deletes old answers and photos with CAPSIGHT_REQUEST_LOG=false too.

Why: the retention purge ran only in the request log's writer thread, which a server with the log
turned off does not start. Measured with ``capsight serve``: a request and its photo 40 days old,
retention 30 days, stayed in the database and the image folder (with the log on they were gone in
a second). Turning the log off, for privacy say, kept every photo logged before for ever.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.settings import Settings
from capsight.store.blobs import open_blob_store, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.services import build_services

PHOTO = b"a photo of someone's kitchen"


def _seed(data: Path) -> Database:
    """An old answer with its photo, and a recent one without, as an earlier run logged them."""
    data.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{data / 'capsight.db'}")
    db.migrate()
    old = datetime.now(UTC) - timedelta(days=40)
    items = [
        (make_record(request_id="old-1", created_at=old, image_sha256=sha256_hex(PHOTO)), PHOTO),
        (make_record(request_id="new-1"), None),
    ]
    write_batch(db, open_blob_store(str(data / "images")), items)
    return db


def _logged(db: Database) -> set[str]:
    from sqlalchemy import select

    from capsight.store.models import RequestRow

    with db.session() as session:
        return set(session.scalars(select(RequestRow.request_id)))


@pytest.mark.parametrize("request_log", [True, False])
def test_retention_purges_with_or_without_the_request_log(tmp_path: Path, request_log: bool) -> None:
    data = tmp_path / "data"
    db = _seed(data)
    assert _logged(db) == {"old-1", "new-1"}
    services = build_services(Settings(data_dir=data, retention_days=30, request_log=request_log))
    try:
        deadline = time.monotonic() + 15
        while _logged(db) != {"new-1"} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _logged(db) == {"new-1"}
        assert not open_blob_store(str(data / "images")).exists(sha256_hex(PHOTO))
    finally:
        services.close()
        db.dispose()


def test_without_retention_nothing_is_purged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = _seed(data)
    services = build_services(Settings(data_dir=data, retention_days=0, request_log=False))
    try:
        time.sleep(1)
        assert _logged(db) == {"old-1", "new-1"}
    finally:
        services.close()
        db.dispose()
