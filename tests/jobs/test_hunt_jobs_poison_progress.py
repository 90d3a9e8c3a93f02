"""A long job that loses its server a few times while making progress is not poison.

``abandoned_runs`` was never reset: a job of many hours that saw three unrelated server crashes
(an OOM of another request, a node drained without a grace period) was failed as one that brings
its server down, though every run had classified more of it. Now a lost run that recorded more rows
done than it started with does not count, and resets the count: only runs that die without progress,
in a row, make a job poison. On SQLite and on a real PostgreSQL server.
"""

from __future__ import annotations

from capsight.jobs.jobqueue import GAVE_UP_ERROR, MAX_ABANDONED_RUNS
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobInfo, JobSpec, Progress, new_job_id
from capsight.store.database import Database

NODE = "host:/data/jobs"
TOTAL = 1000


def _create(store: JobStore) -> str:
    job_id = new_job_id()
    store.create(
        job_id,
        client_id="k1",
        spec=JobSpec(kind="s3", s3_prefix="s3://b/p", node=NODE),
        webhook_url=None,
        total=0,
    )
    return job_id


def _gone(job: JobInfo) -> bool:
    return True


def _run_and_crash(store: JobStore, job_id: str, failed: list[str], rows_done: int | None) -> list[str]:
    """One run: claimed, a heartbeat as it starts, one after ``rows_done`` rows (None: no progress
    recorded), then its server is lost and the next start recovers the job."""
    claimed = store.claim_next("doomed", NODE)
    assert claimed is not None and claimed.id == job_id
    assert store.heartbeat(job_id, "doomed", Progress(claimed.done, TOTAL, 0)).owned
    if rows_done is not None:
        assert store.heartbeat(job_id, "doomed", Progress(rows_done, TOTAL, 0)).owned
    return store.recover(_gone, on_failed=failed.append)


def test_runs_that_make_progress_before_their_server_dies_do_not_count(database: Database) -> None:
    store = JobStore(database)
    job_id = _create(store)
    failed: list[str] = []
    for run in range(MAX_ABANDONED_RUNS * 2):
        assert _run_and_crash(store, job_id, failed, rows_done=100 * (run + 1)) == [job_id], run
    assert failed == []
    job = store.get(job_id)
    assert job is not None and job.state == "queued" and job.done == 100 * MAX_ABANDONED_RUNS * 2


def test_a_run_with_progress_resets_the_count_of_runs_without(database: Database) -> None:
    store = JobStore(database)
    job_id = _create(store)
    failed: list[str] = []
    for _ in range(MAX_ABANDONED_RUNS - 1):
        assert _run_and_crash(store, job_id, failed, rows_done=None) == [job_id]
    assert _run_and_crash(store, job_id, failed, rows_done=50) == [job_id]  # it got further
    for _ in range(MAX_ABANDONED_RUNS - 1):
        assert _run_and_crash(store, job_id, failed, rows_done=None) == [job_id]
    assert failed == []
    # A run that records the rows it started with (a resumed run counts them first) is no progress.
    assert _run_and_crash(store, job_id, failed, rows_done=50) == []
    assert failed == [job_id]
    job = store.get(job_id)
    assert job is not None and job.state == "failed" and job.error == GAVE_UP_ERROR
