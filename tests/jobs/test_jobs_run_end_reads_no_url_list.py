"""Recording the end of a run (``finish``, ``release``) reads no URL list.

Why: both loaded the job's whole row to write its end, and the ORM parses a JSON column as it loads
it: for a URL job, its list (up to 100,000 URLs, 16 MB of JSON) under the GIL, about 64 ms that
every request of the server waited for, at the end of every run (and a run interrupted by a stop
read it a second time, to see whether a cancel had come).
"""

from __future__ import annotations

from jobs_helpers import JobApp
from sql_statements import statements_of

from capsight.jobs.manager import JobManager
from capsight.jobs.pipeline import RunOutcome
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, Progress, new_job_id
from capsight.store.database import Database

URLS = 2000


def _running_url_job(store: JobStore, runner: str = "me") -> str:
    job_id = new_job_id()
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(URLS))
    store.create(job_id, client_id=None, spec=JobSpec(kind="urls", urls=urls), webhook_url=None, total=URLS)
    claimed = store.claim_next(runner, "n:/d")
    assert claimed is not None and claimed.id == job_id
    return job_id


def test_finishing_a_run_reads_no_url_list(database: Database) -> None:
    store = JobStore(database)
    job_id = _running_url_job(store)
    end = Progress(9, URLS, 2)
    job, statements = statements_of(database, lambda: store.finish(job_id, "me", "succeeded", end))
    assert job is not None and job.state == "succeeded" and (job.done, job.failed) == (9, 2)
    assert job.spec.describe() == {"kind": "urls", "count": URLS}
    assert any("jobs" in sql for sql in statements), statements
    assert not [sql for sql in statements if "params" in sql], statements
    full = store.get(job_id)
    assert full is not None and full.state == "succeeded" and len(full.spec.urls) == URLS


def test_releasing_a_run_reads_no_url_list(database: Database) -> None:
    store = JobStore(database)
    job_id = _running_url_job(store)
    job, statements = statements_of(database, lambda: store.release(job_id, "me", Progress(5, URLS, 0)))
    assert job is not None and job.state == "queued" and job.done == 5
    assert not [sql for sql in statements if "params" in sql], statements

    assert store.claim_next("me", "n:/d") is not None
    store.request_cancel(job_id)  # flagged while running: the release ends it
    job, statements = statements_of(database, lambda: store.release(job_id, "me"))
    assert job is not None and job.state == "cancelled"
    assert not [sql for sql in statements if "params" in sql], statements
    full = store.get(job_id)
    assert full is not None and len(full.spec.urls) == URLS


def test_a_run_stopped_by_a_shutdown_reads_no_url_list(make_app: JobApp) -> None:
    """The worker's look for a cancel that came late, before it puts the job back, read the list too."""
    manager: JobManager = make_app(job_workers=0).app.state.jobs  # type: ignore[attr-defined]
    store = manager.store
    for cancelled in (False, True):
        job_id = _running_url_job(store, manager.runner)
        job = store.status(job_id)
        assert job is not None
        if cancelled:
            store.request_cancel(job_id)
        stopped = RunOutcome(complete=False, progress=Progress(5, URLS, 0))
        ended, statements = statements_of(store.db, lambda j=job, o=stopped: manager._record_end(j, o))
        assert not [sql for sql in statements if "params" in sql], statements
        assert (ended.state if ended else None) == ("cancelled" if cancelled else None)
        now = store.status(job_id)
        assert now is not None and now.state == ("cancelled" if cancelled else "queued") and now.done == 5
        store.request_cancel(job_id)  # out of the queue: the next claim takes the next job
