"""Claiming jobs: a replica finds its own work however many jobs other replicas have queued."""

from __future__ import annotations

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, SourceKind, new_job_id
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
