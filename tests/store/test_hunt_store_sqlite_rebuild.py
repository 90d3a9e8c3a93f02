"""A migration that rebuilds a table on SQLite (Alembic's batch mode: copy, drop, rename) must keep
the rows of the tables that point at it: with foreign keys on, dropping ``requests`` cascaded and
deleted every classification."""

from __future__ import annotations

from sqlalchemy import text

from capsight.store.database import Database
from capsight.store.requestlog import RequestLog


def _one_logged_classification(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO requests (request_id, created_at, endpoint, client_id, status_code, latency_ms) "
                "VALUES ('r1', '2026-01-01 00:00:00.000000', '/v1/classify', 'k', 200, 1.0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO classifications (request_id, item_index, created_at, model_name, model_version, "
                "latency_ms, image_bytes, cached, status_code) "
                "VALUES ('r1', 0, '2026-01-01 00:00:00.000000', 'm', 'v', 1.0, 0, false, 200)"
            )
        )


def test_rebuilding_the_requests_table_keeps_its_classifications(database: Database) -> None:
    database.migrate("head")
    _one_logged_classification(database)
    database.downgrade("0002")  # 0003's downgrade drops a column of requests: a rebuild on SQLite
    assert RequestLog(database, None).count() == 1
    database.migrate("head")
    assert RequestLog(database, None).count() == 1


def test_foreign_keys_still_hold_after_a_migration(sqlite_db: Database) -> None:
    """Turned off for the rebuild only: the pooled connections keep cascading deletes afterwards."""
    sqlite_db.migrate("head")
    _one_logged_classification(sqlite_db)
    with sqlite_db.engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        connection.execute(text("DELETE FROM requests WHERE request_id = 'r1'"))
    assert RequestLog(sqlite_db, None).count() == 0
