"""Looking for a job to claim reads where each queued job must run, not each one's whole URL list;
so does failing the jobs of a node that is gone.

Why: a worker picking its next job read the parameters of the 50 oldest queued jobs at once, to see
which were zip jobs pinned to another node, and for a URL job they are its whole list (up to 100,000
URLs, 16 MB of JSON): with a backlog of big URL jobs, every claim parsed and held all of them (about
20 MB of Python objects each, under the GIL), to use two short fields.
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

from capsight.jobs.shared import SharedJobData
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

NODE = "host:/data/jobs"
QUEUED = 6


def _url_job(store: JobStore) -> str:
    job_id = new_job_id()
    urls = tuple(f"https://images.example.com/{'p' * 60}/{job_id}/{i:06d}.jpg" for i in range(20_000))
    store.create(
        job_id, client_id="k1", spec=JobSpec(kind="urls", urls=urls, node=NODE), webhook_url=None, total=0
    )
    return job_id


def _peak(call: object) -> int:
    assert callable(call)
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result is not None
    return peak


def test_a_claim_does_not_read_every_queued_jobs_url_list(database: Database) -> None:
    store = JobStore(database)
    first = _url_job(store)
    for _ in range(QUEUED - 1):
        _url_job(store)
    one_job = _peak(lambda: store.get(first))  # what reading one job's list costs
    claimed = store.claim_next("me", NODE)
    assert claimed is not None and claimed.id == first and len(claimed.spec.urls) == 20_000
    # The next claim reads the other five queued jobs' places, and the list of the one it takes.
    peak = _peak(lambda: store.claim_next("me", NODE))
    assert peak < 2 * one_job, f"a claim held {peak} bytes; one job's list is {one_job}"


def test_failing_a_gone_nodes_jobs_does_not_read_every_url_list(database: Database) -> None:
    """Run when some node has gone silent: it read every queued and running job's parameters at once."""
    from capsight.store.models import JobNode, utcnow

    store = JobStore(database)
    jobs = [_url_job(store) for _ in range(QUEUED)]
    shared = SharedJobData(database)
    with database.session() as session, session.begin():
        session.add(JobNode(node="gone:/data/jobs", seen_at=utcnow() - timedelta(minutes=11)))
    one_job = _peak(lambda: store.get(jobs[0]))
    peak = _peak(lambda: shared.fail_jobs_of_gone_nodes(store))
    assert peak < one_job / 2, f"failing a gone node's jobs held {peak} bytes; one job's list is {one_job}"
    assert store.count_queued() == QUEUED  # URL jobs are pinned to no node: none failed
