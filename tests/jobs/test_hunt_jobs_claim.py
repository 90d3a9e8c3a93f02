"""Claiming jobs: a replica finds its own work however many jobs other replicas have queued."""

from __future__ import annotations

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, Progress, SourceKind, new_job_id
from capsight.store.database import Database

NODE = "host:/data/jobs"
OTHER = "other:/data/jobs"


def _create(store: JobStore, node: str, kind: SourceKind) -> str:
    job_id = new_job_id()
    spec = JobSpec(kind=kind, s3_prefix="s3://b/p" if kind == "s3" else None, node=node)
    store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=0)
    return job_id


def test_a_backlog_of_another_replicas_zip_jobs_does_not_hide_this_replicas_jobs(
    database: Database,
) -> None:
    """Another replica's queued zip jobs (only it can run them) came first in the queue: a replica
    looked at the 50 oldest only, found none it could run, and idled while its own jobs waited."""
    store = JobStore(database)
    for _ in range(60):
        _create(store, OTHER, "zip")
    mine = _create(store, NODE, "zip")
    anywhere = _create(store, OTHER, "s3")  # an S3 job runs on any replica
    first = store.claim_next("me", NODE)
    second = store.claim_next("me", NODE)
    assert first is not None and second is not None
    assert {first.id, second.id} == {mine, anywhere}
    assert store.claim_next("me", NODE) is None
    assert store.count_queued() == 60  # the other replica's jobs are still waiting for it


def test_a_cancel_that_reaches_a_job_as_its_server_stops_ends_it(database: Database) -> None:
    """A cancel between the worker's last look and its release (a graceful shutdown) found the job
    running: it was only flagged, and ``release`` put it back in the queue. The client had been told
    202 "then cancelled", but the job waited there, counted against max_queued_jobs, until a worker
    of its node came back to claim it (a zip job of a replica never restarted: failed, "upload the
    zip again"), and its webhook waited as long."""
    store = JobStore(database)
    job_id = _create(store, NODE, "zip")
    assert store.claim_next("stopping", NODE) is not None
    job, ended = store.request_cancel(job_id)
    assert not ended and job is not None and job.state == "running" and job.cancel_requested
    released = store.release(job_id, "stopping", Progress(2, 5, 0))
    assert released is not None and released.state == "cancelled" and released.finished_at is not None
    assert released.done == 2
    stored = store.get(job_id)
    assert stored is not None and stored.state == "cancelled"
    assert store.count_queued() == 0 and store.claim_next("me", NODE) is None


def test_a_release_without_a_cancel_still_requeues(database: Database) -> None:
    store = JobStore(database)
    job_id = _create(store, NODE, "zip")
    assert store.claim_next("stopping", NODE) is not None
    released = store.release(job_id, "stopping", Progress(2, 5, 0))
    assert released is not None and released.state == "queued" and released.runner is None
    assert released.finished_at is None
