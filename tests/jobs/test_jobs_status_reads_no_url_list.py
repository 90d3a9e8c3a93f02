"""A job's status and the job list read the fields they show, not each URL job's whole list.

Why: ``GET /v1/jobs/{id}`` read the job's whole parameters, and for a URL job they are its list
(up to 100,000 URLs, 16 MB of JSON) parsed into Python under the GIL to show one number, its
count: about 64 ms per poll of a 100,000-URL job, and a client polling it pushed the health probe's
worst case to 281 ms. ``GET /v1/jobs`` did the same for every job listed.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jobs_helpers import JobApp
from sql_statements import statements_of
from sqlalchemy import select

from capsight.jobs.render import job_document
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database
from capsight.store.models import Job

URLS = 20_000


def _url_job(store: JobStore, count: int = URLS) -> str:
    job_id = new_job_id()
    urls = tuple(f"https://images.example.com/{'p' * 60}/{job_id}/{i:06d}.jpg" for i in range(count))
    spec = JobSpec(kind="urls", urls=urls, node="n:/d", base_url="https://api.example/")
    store.create(job_id, client_id="k1", spec=spec, webhook_url="https://hook.example/x", total=count)
    return job_id


def _peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        assert call() is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_status_and_list_read_no_url_list(database: Database) -> None:
    store = JobStore(database)
    job_id = _url_job(store)
    zip_id = new_job_id()
    store.create(
        zip_id,
        client_id="k2",
        spec=JobSpec(kind="zip", upload_bytes=1234, node="n:/d"),
        webhook_url=None,
        total=3,
    )
    s3_id = new_job_id()
    store.create(s3_id, client_id="k2", spec=JobSpec(kind="s3", s3_prefix="b/p/"), webhook_url=None, total=0)

    one_list = _peak(lambda: store.get(job_id))  # what reading the whole list costs
    status = _peak(lambda: store.status(job_id))
    assert status < one_list / 20, f"a status read held {status} bytes; the list is {one_list}"
    listed = _peak(lambda: store.list_jobs())
    assert listed < one_list / 20, f"listing held {listed} bytes; one list is {one_list}"

    # Shown exactly as before: the whole document of each job, the source (URL count) included.
    for each in (job_id, zip_id, s3_id):
        full, light = store.get(each), store.status(each)
        assert full is not None and light is not None
        assert job_document(light, "b") == job_document(full, "b")
    assert job_document(store.status(job_id), "")["source"] == {"kind": "urls", "count": URLS}  # type: ignore[arg-type]
    assert [job_document(j, "") for j in store.list_jobs()] == [
        job_document(j, "") for j in (store.get(s3_id), store.get(zip_id), store.get(job_id)) if j
    ]
    assert store.status(new_job_id()) is None

    # Not even in the database: no statement of either names the parameters (16 MB to walk and parse).
    _, statements = statements_of(database, lambda: (store.status(job_id), store.list_jobs()))
    assert statements and not [sql for sql in statements if "params" in sql], statements


def test_a_job_created_before_the_source_was_kept_shows_it_the_same(database: Database) -> None:
    """Rows of an earlier release have no copy of their source: the database counts their list."""
    store = JobStore(database)
    job_id = _url_job(store, 500)
    s3_id = new_job_id()
    store.create(s3_id, client_id="k2", spec=JobSpec(kind="s3", s3_prefix="b/p/"), webhook_url=None, total=0)
    with database.session() as session, session.begin():
        for row in session.scalars(select(Job)):
            row.summary = {k: v for k, v in (row.summary or {}).items() if k != "source"}
    expected = [job_document(j, "") for j in (store.get(s3_id), store.get(job_id)) if j]
    assert job_document(store.status(job_id), "")["source"] == {"kind": "urls", "count": 500}  # type: ignore[arg-type]
    assert [job_document(j, "") for j in store.list_jobs()] == expected


def test_polling_a_big_url_job_reads_no_url_list(make_app: JobApp, tmp_path: Path) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    job_id = _url_job(store)
    one_list = _peak(lambda: store.get(job_id))
    client.get(f"/v1/jobs/{job_id}"), client.get("/v1/jobs")  # first calls: imports, caches
    poll = _peak(lambda: client.get(f"/v1/jobs/{job_id}"))
    assert poll < one_list / 10, f"a poll held {poll} bytes; the list is {one_list}"
    listing = _peak(lambda: client.get("/v1/jobs"))
    assert listing < one_list / 10, f"the list held {listing} bytes; one job's list is {one_list}"
    answer = client.get(f"/v1/jobs/{job_id}").json()
    assert answer["source"] == {"kind": "urls", "count": URLS}
    assert client.get("/v1/jobs").json()["jobs"][0]["source"] == {"kind": "urls", "count": URLS}
