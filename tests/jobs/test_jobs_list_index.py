"""A key's ``GET /v1/jobs`` reads its own newest jobs through an index, not the whole table.

Why: ordinary keys list their own jobs (``client_id = ?`` newest first, 50 a page), and the
``jobs`` table had no index on the owner: every listing read every job of every client and sorted
them all (100,000 jobs: 11-19 ms a page on SQLite, 33-40 ms on PostgreSQL; 1.0-1.5 ms with the
index). The plan of the exact statement the listing sends must use ``ix_jobs_client_created`` and
sort nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, inspect, text

from capsight.jobs.cursor import cursor_of
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database
from capsight.store.models import utcnow

INDEX = "ix_jobs_client_created"


def _create(store: JobStore, client_id: str) -> str:
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=(f"https://images.example.com/{job_id}.jpg",))
    store.create(job_id, client_id=client_id, spec=spec, webhook_url=None, total=1)
    return job_id


def _listing_statement(database: Database, **query: Any) -> tuple[str, Any]:
    """The SELECT of the jobs themselves that ``list_jobs(**query)`` sends, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        JobStore(database).list_jobs(**query)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    listings = [(s, p) for s, p in seen if "FROM jobs" in s and "ORDER BY" in s]
    assert len(listings) == 1, seen
    return listings[0]


def _plan(database: Database, statement: str, parameters: Any) -> str:
    with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            # A test table is tiny, so the planner would read it whole (or the rows a bitmap finds)
            # and sort, whatever the indexes; with sequential scans and sorts priced out it shows
            # which index gives the listing's order, if any.
            connection.exec_driver_sql("SET enable_seqscan = off")
            connection.exec_driver_sql("SET enable_sort = off")
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            connection.rollback()
            return "\n".join(str(row[0]) for row in rows)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(row[-1]) for row in rows)


def test_a_keys_listing_reads_its_jobs_through_the_owner_index(database: Database) -> None:
    database.migrate()
    store = JobStore(database)
    jobs = [_create(store, owner) for owner in ("alice", "bob") * 3]
    newest = store.status(jobs[-2])
    assert newest is not None
    queries: list[dict[str, Any]] = [
        {"client_id": "alice"},
        {"client_id": "alice", "state": "queued"},
        {"client_id": "alice", "ended_since": utcnow() - timedelta(days=30)},
        {"client_id": "alice", "before": cursor_of(newest)},
    ]
    for query in queries:
        statement, parameters = _listing_statement(database, limit=50, **query)
        plan = _plan(database, statement, parameters)
        assert INDEX in plan, (query, plan)
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, (query, plan)


def test_the_admin_listing_reads_jobs_through_the_time_index(database: Database) -> None:
    """An admin's listing of every client's jobs (an operator's dashboard polling ``GET /v1/jobs``)
    read and sorted the whole table too: 100,000 jobs took 64-88 ms a page on SQLite, 41-47 ms on
    PostgreSQL."""
    database.migrate()
    store = JobStore(database)
    jobs = [_create(store, owner) for owner in ("alice", "bob") * 3]
    newest = store.status(jobs[-2])
    assert newest is not None
    # Not a state filter: a state of few jobs (queued, running) is read best through ix_jobs_state.
    queries: list[dict[str, Any]] = [
        {},
        {"ended_since": utcnow() - timedelta(days=30)},
        {"before": cursor_of(newest)},
    ]
    for query in queries:
        statement, parameters = _listing_statement(database, limit=50, **query)
        plan = _plan(database, statement, parameters)
        assert "ix_jobs_created" in plan, (query, plan)
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, (query, plan)


def test_an_upgrade_adds_the_index_and_keeps_the_jobs(database: Database) -> None:
    """A database made by the previous release (schema 0007) gains the index on upgrade."""
    database.migrate("0007")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, state, client_id, created_at, updated_at, total, done, failed, "
                "cancel_requested, abandoned_runs) VALUES "
                "('old-job', 'queued', 'alice', :now, :now, 1, 0, 0, false, 0)"
            ),
            {"now": utcnow()},
        )
    assert INDEX not in {ix["name"] for ix in inspect(database.engine).get_indexes("jobs")}
    database.migrate()
    assert {INDEX, "ix_jobs_created"} <= {ix["name"] for ix in inspect(database.engine).get_indexes("jobs")}
    assert [job.id for job in JobStore(database).list_jobs(client_id="alice")] == ["old-job"]
    database.downgrade("0007")
    assert not {INDEX, "ix_jobs_created"} & {
        ix["name"] for ix in inspect(database.engine).get_indexes("jobs")
    }
