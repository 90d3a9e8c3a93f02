"""Cancelling a job (``DELETE /v1/jobs/{id}``) reads no URL list.

Why: the cancel re-read the whole row to answer with the job, and for a URL job that is its list
(up to 100,000 URLs, 16 MB of JSON) parsed under the GIL, about 64 ms that every other request of
the server waited for, to show the list's length.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from jobs_helpers import JobApp
from sql_statements import statements_of

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

URLS = 2000


def _url_job(store: JobStore) -> str:
    job_id = new_job_id()
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(URLS))
    store.create(job_id, client_id="k1", spec=JobSpec(kind="urls", urls=urls), webhook_url=None, total=URLS)
    return job_id


def test_cancelling_reads_no_url_list(database: Database) -> None:
    store = JobStore(database)
    running, queued = _url_job(store), _url_job(store)
    claimed = store.claim_next("me", "n:/d")  # the older one
    assert claimed is not None and claimed.id == running

    (job, ended), statements = statements_of(database, lambda: store.request_cancel(running))
    assert not ended and job is not None and job.state == "running" and job.cancel_requested
    assert job.spec.describe() == {"kind": "urls", "count": URLS}
    assert not [sql for sql in statements if "params" in sql], statements

    (job, ended), statements = statements_of(database, lambda: store.request_cancel(queued))
    assert ended and job is not None and job.state == "cancelled"
    assert job.spec.describe() == {"kind": "urls", "count": URLS}
    assert not [sql for sql in statements if "params" in sql], statements
    full = store.get(queued)
    assert full is not None and len(full.spec.urls) == URLS  # the list itself is untouched


def test_delete_of_a_url_job_reads_no_url_list(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    job_id = _url_job(store)
    answer, statements = statements_of(store.db, lambda: client.delete(f"/v1/jobs/{job_id}"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"
    assert answer.json()["source"] == {"kind": "urls", "count": URLS}
    assert any("jobs" in sql for sql in statements), statements
    assert not [sql for sql in statements if "params" in sql], statements
