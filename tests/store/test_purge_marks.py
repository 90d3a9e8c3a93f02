"""Each complete purge records how far back it deleted; the feedback route reads it (410 for an
answer the purge took). On SQLite and PostgreSQL, as the marks are compared with ids' times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_records import make_record

from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.purge import purge_older_than
from capsight.store.purge_marks import purged_before


def test_a_purge_records_its_cutoff_and_a_shorter_one_moves_it(database: Database) -> None:
    database.migrate()
    now = datetime.now(UTC)
    write_batch(database, None, [(make_record(request_id="old", created_at=now - timedelta(days=10)), None)])
    assert purged_before(database) is None  # never purged: nothing is known gone
    purge_older_than(database, None, 7)
    first = purged_before(database)
    assert first is not None and abs(first - (now - timedelta(days=7))) < timedelta(minutes=1)
    purge_older_than(database, None, 30)  # reaches less far: what the first took stays gone
    assert purged_before(database) == first
    purge_older_than(database, None, 1)
    second = purged_before(database)
    assert second is not None and abs(second - (now - timedelta(days=1))) < timedelta(minutes=1)
