"""``GET /v1/jobs`` paging goes on when the job its ``next`` link names is purged meanwhile.

``next`` was ``before=<the last job's id>``, read by looking that job up for its creation time: when
the retention purged it between two page requests (an operator paging through last week's failed
jobs, the hourly purge running between pages), the next page was 400 ``before='…' names no job.``,
with no hint, and the client could not go on. ``next`` now carries the job's creation time with its
id, which is all the ordering needs, so the page after a purged job is answered; a bare id of a
purged job (a cursor made by hand, or by an earlier release) says why it fails and what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.cursor import cursor_of
from capsight.jobs.purge import purge_finished_jobs
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

HOST = "images.example.com"


def _create(store: JobStore) -> str:
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=(f"https://{HOST}/{job_id}.jpg",))
    store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=1)
    return job_id


def _purge(store: JobStore, job_id: str) -> None:
    store.request_cancel(job_id)  # a queued job is cancelled (ended) at once
    deleted, _ = purge_finished_jobs(store.db, datetime.now(UTC) + timedelta(days=1))
    assert deleted == 1 and store.status(job_id) is None


def test_the_page_after_a_purged_job_is_answered(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    ids = [_create(store) for _ in range(5)]

    first = client.get("/v1/jobs", params={"limit": 2})
    assert [j["id"] for j in first.json()["jobs"]] == [ids[4], ids[3]]
    _purge(store, ids[3])  # the job the next link names: retention deleted it between two pages

    second = client.get(first.json()["next"])
    assert second.status_code == 200, second.text
    assert [j["id"] for j in second.json()["jobs"]] == [ids[2], ids[1]]
    third = client.get(second.json()["next"])
    assert third.status_code == 200, third.text
    assert [j["id"] for j in third.json()["jobs"]] == [ids[0]]
    assert third.json()["next"] is None


def test_a_bare_id_of_a_purged_job_says_why_and_what_to_do(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    ids = [_create(store) for _ in range(3)]
    _purge(store, ids[1])
    answer = client.get("/v1/jobs", params={"before": ids[1]})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error.startswith(f"before={ids[1]!r} names no job"), error
    assert "purged" in error and "first page" in error and "next" in error, error


def test_a_cursor_of_another_shape_is_a_400(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    first = client.get("/v1/jobs", params={"limit": 1})
    assert first.status_code == 200
    for before in (f"{'a' * 32}.x", f"{'a' * 32}.", f"{'a' * 32}.-1", f"{'a' * 32}.{10**30}", "zz.1"):
        answer = client.get("/v1/jobs", params={"before": before})
        assert answer.status_code == 400, (before, answer.text)
        assert "names no job" in answer.json()["error"], answer.text


def test_the_store_pages_from_a_cursor_of_a_purged_job(database: Database) -> None:
    """On SQLite and PostgreSQL: the time in the cursor matches the stored one to the microsecond."""
    store = JobStore(database)
    ids = [_create(store) for _ in range(6)]
    page = store.list_jobs(limit=2)
    assert [j.id for j in page] == [ids[5], ids[4]]
    cursor = cursor_of(page[-1])
    _purge(store, ids[4])
    assert [j.id for j in store.list_jobs(limit=2, before=cursor)] == [ids[3], ids[2]]
    assert [j.id for j in store.list_jobs(before=cursor_of(page[0]))] == [ids[3], ids[2], ids[1], ids[0]]
