"""Feedback is client text: a NUL in it is stored (as U+FFFD) on PostgreSQL as on SQLite, not refused
as if the database were down (the route answered 503 'retry shortly', and every retry failed)."""

from __future__ import annotations

from sqlalchemy import select

from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.models import FeedbackRow


def test_feedback_with_a_nul_in_its_text_is_recorded(database: Database) -> None:
    entry = FeedbackEntry(
        "req\x00-1", 0, "jwt:a\x00b", False, "bottle-status", "opened", note="my\x00kitchen"
    )
    feedback_id = FeedbackStore(database).add(entry)
    with database.session() as session:
        row = session.scalars(select(FeedbackRow).where(FeedbackRow.id == feedback_id)).one()
    assert row.note == "my\ufffdkitchen"
    assert row.request_id == "req\ufffd-1"
    assert row.client_id == "jwt:a\ufffdb"
