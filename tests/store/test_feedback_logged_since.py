"""``FeedbackStore.logged_since``: whether a request named by the server's id or a client's
X-Request-ID was logged at a cutoff or later (the feedback route's test for a purged answer), on
PostgreSQL as on SQLite, whose stored times compare differently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store_records import make_record

from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from capsight.store.logwriter import write_batch


def test_logged_since_reads_both_ids_against_the_cutoff(database: Database) -> None:
    now = datetime.now(UTC)
    write_batch(
        database,
        None,
        [
            (make_record(request_id="server-new", client_request_id="client-new", created_at=now), None),
            (make_record(request_id="server-old", created_at=now - timedelta(days=10)), None),
        ],
    )
    store = FeedbackStore(database)
    cutoff = now - timedelta(days=7)
    assert store.logged_since("server-new", cutoff) and store.logged_since("client-new", cutoff)
    assert not store.logged_since("server-old", cutoff)  # logged, but before the cutoff
    assert store.logged_since("server-old", now - timedelta(days=11))
    assert not store.logged_since("never-logged", cutoff)
