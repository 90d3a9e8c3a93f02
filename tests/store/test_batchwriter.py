"""One batch to the backends: images then rows, outages raised (nothing half-counted), bad rows set aside."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_records import make_record, unreachable_postgres_url

from capsight.store.batchwriter import BatchWriter, Outage
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.models import ClassificationRow


def rows(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(ClassificationRow)) or 0)


def test_a_batch_stores_its_images_and_rows_and_counts_them(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    image = b"\x89PNG fake bytes"
    writer = BatchWriter(database, blobs, tmp_path / "spool")
    items = [(make_record(image_sha256=sha256_hex(image)), image), (make_record(), None)]
    writer.write(items)
    assert writer.written == 2 and writer.rejected == 0
    assert rows(database) == 2
    assert blobs.get(sha256_hex(image)) == image
    writer.probe()  # reachable: no error


def test_an_unreachable_database_is_an_outage_not_a_rejection(tmp_path: Path) -> None:
    db = Database(unreachable_postgres_url())
    writer = BatchWriter(db, None, tmp_path / "spool")
    with pytest.raises(Outage, match="database unavailable") as caught:
        writer.write([(make_record(), None)])
    assert caught.value.what == "database"
    with pytest.raises(Outage, match="database unavailable"):
        writer.probe()
    assert writer.written == 0 and writer.rejected == 0
    assert not (tmp_path / "spool" / "rejected.jsonl").exists()  # kept for a retry, not set aside
    db.dispose()


def test_a_broken_image_store_writes_no_rows(database: Database, tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the image folder should be")
    writer = BatchWriter(database, LocalBlobStore(tmp_path / "not-a-folder"), tmp_path / "spool")
    image = b"some image bytes"
    with pytest.raises(Outage, match="image store unavailable"):
        writer.write([(make_record(image_sha256=sha256_hex(image)), image)])
    assert rows(database) == 0 and writer.written == 0  # no row may point at an image that is not there
