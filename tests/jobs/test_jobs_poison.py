"""A job that keeps losing its server is failed after a few runs, not restarted for ever.

Recovery put a job whose runner was gone back in the queue every time. A job that brings its server
down (memory, a decoder crash) was then claimed at the next start and brought it down again, for
ever: a crash loop of the whole service. On SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from capsight.jobs.jobqueue import GAVE_UP_ERROR, MAX_ABANDONED_RUNS
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobInfo, JobSpec, Progress, new_job_id
from capsight.store.database import Database

NODE = "host:/data/jobs"


def _create(store: JobStore) -> str:
    job_id = new_job_id()
    store.create(
        job_id,
        client_id="k1",
        spec=JobSpec(kind="s3", s3_prefix="s3://b/p", node=NODE),
        webhook_url="http://hook.example/",
        total=0,
    )
    return job_id


def _every_runner_gone(job: JobInfo) -> bool:
    return True


def _claim_and_lose_the_server(store: JobStore, job_id: str, failed: list[str]) -> list[str]:
    claimed = store.claim_next("doomed", NODE)
    assert claimed is not None and claimed.id == job_id
    return store.recover(_every_runner_gone, on_failed=failed.append)


def test_a_job_whose_server_keeps_dying_is_failed_after_a_few_runs(database: Database) -> None:
    store = JobStore(database)
    job_id = _create(store)
    failed: list[str] = []
    for run in range(1, MAX_ABANDONED_RUNS):
        assert _claim_and_lose_the_server(store, job_id, failed) == [job_id], f"run {run} re-queued"
        assert failed == []
    assert _claim_and_lose_the_server(store, job_id, failed) == []
    assert failed == [job_id]
    job = store.get(job_id)
    assert job is not None and job.state == "failed" and job.runner is None
    assert job.error == GAVE_UP_ERROR and job.finished_at is not None
    assert store.claim_next("next-start", NODE) is None  # nothing left to crash on
    assert store.pending_webhooks(job.finished_at.replace(year=2000))[0].id == job_id  # its end is told


def test_orderly_stops_do_not_count(database: Database) -> None:
    """A rolling deploy stops a replica with its job released (put back on purpose): that job did
    nothing wrong, however many deploys it sees."""
    store = JobStore(database)
    job_id = _create(store)
    for _ in range(MAX_ABANDONED_RUNS * 2):
        store.claim_next("deployed", NODE)
        assert store.release(job_id, "deployed", Progress(1, 5, 0))
    failed: list[str] = []
    assert _claim_and_lose_the_server(store, job_id, failed) == [job_id]
    job = store.get(job_id)
    assert failed == [] and job is not None and job.state == "queued"


def test_a_live_runner_whose_end_was_not_recorded_does_not_count(database: Database) -> None:
    """A database blip as a run ended re-queues the job from the live process that ran it: no
    server was lost, so however often it happens the job is not failed for it."""
    store = JobStore(database)
    job_id = _create(store)
    failed: list[str] = []
    for _ in range(MAX_ABANDONED_RUNS * 2):
        assert store.claim_next("alive", NODE) is not None
        requeued = store.recover(
            _every_runner_gone, on_failed=failed.append, server_was_lost=lambda job: job.runner != "alive"
        )
        assert requeued == [job_id]
    job = store.get(job_id)
    assert failed == [] and job is not None and job.state == "queued"
    for _ in range(MAX_ABANDONED_RUNS):  # lost servers still count from zero
        _claim_and_lose_the_server(store, job_id, failed)
    assert failed == [job_id]
