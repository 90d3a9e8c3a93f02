"""A running job's heartbeat (every half second) reads no URL list.

Why: each heartbeat loaded the job's whole row, and the ORM parses a JSON column as it loads it: for
a URL job, its whole list (up to 100,000 URLs, 16 MB of JSON), parsed under the GIL twice a second
for as long as the job ran, to write three counters and read one flag.
"""

from __future__ import annotations

from sql_statements import statements_of

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, Progress, new_job_id
from capsight.store.database import Database


def test_a_heartbeat_reads_no_url_list(database: Database) -> None:
    store = JobStore(database)
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(2000))
    job_id = new_job_id()
    store.create(job_id, client_id=None, spec=JobSpec(kind="urls", urls=urls), webhook_url=None, total=2000)
    assert store.claim_next("me", "n:/d") is not None
    store.request_cancel(job_id)  # running: flagged, the heartbeat tells the worker

    beat, statements = statements_of(database, lambda: store.heartbeat(job_id, "me", Progress(7, 2000, 1)))
    assert beat.owned and beat.cancel_requested
    assert any("FROM jobs" in sql for sql in statements), statements
    assert not [sql for sql in statements if "params" in sql], statements
    job = store.get(job_id)
    assert job is not None and (job.done, job.total, job.failed) == (7, 2000, 1)
    assert len(job.spec.urls) == 2000  # the list itself is untouched
    beat, _ = statements_of(database, lambda: store.heartbeat(job_id, "someone else"))
    assert not beat.owned
