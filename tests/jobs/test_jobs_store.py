"""The jobs table on SQLite and on a real PostgreSQL server: claims, cancels, ownership, recovery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobInfo, JobSpec, Progress, SourceKind, new_job_id
from capsight.store.database import Database

NODE = "host:/data/jobs"


def _create(
    store: JobStore, node: str | None = NODE, webhook: str | None = None, kind: SourceKind = "s3"
) -> str:
    job_id = new_job_id()
    store.create(
        job_id,
        client_id="k1",
        spec=JobSpec(kind=kind, s3_prefix="s3://b/p", node=node),
        webhook_url=webhook,
        total=0,
    )
    return job_id


def test_each_queued_job_is_claimed_by_exactly_one_worker(database: Database) -> None:
    store = JobStore(database)
    ids = [_create(store) for _ in range(6)]
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (job := store.claim_next(name, NODE)) is not None:
            with lock:
                claimed.append((job.id, name))

    threads = [threading.Thread(target=worker, args=(f"runner-{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(job_id for job_id, _ in claimed) == sorted(ids)
    for job_id, runner in claimed:
        job = store.get(job_id)
        assert (
            job is not None and job.state == "running" and job.runner == runner and job.started_at is not None
        )


def test_jobs_pinned_to_another_node_are_left_for_it(database: Database) -> None:
    store = JobStore(database)
    theirs = _create(store, node="other:/data/jobs", kind="zip")
    mine = _create(store, kind="zip")
    assert store.claim_next("me", NODE).id == mine  # type: ignore[union-attr]
    assert store.claim_next("me", NODE) is None
    assert store.claim_next("them", "other:/data/jobs").id == theirs  # type: ignore[union-attr]


def test_only_zip_jobs_are_pinned_to_the_node_that_accepted_them(database: Database) -> None:
    """An S3 or URL job reads nothing from that node's disk: any node runs it."""
    store = JobStore(database)
    accepted_elsewhere = _create(store, node="other:/data/jobs")
    assert store.claim_next("me", NODE).id == accepted_elsewhere  # type: ignore[union-attr]


def test_cancel_ends_a_queued_job_and_flags_a_running_one(database: Database) -> None:
    store = JobStore(database)
    queued, running = _create(store), _create(store)
    job, ended = store.request_cancel(queued)
    assert ended and job is not None and job.state == "cancelled" and job.finished_at is not None
    assert store.claim_next("r", NODE).id == running  # type: ignore[union-attr]  # the cancelled one is skipped

    job, ended = store.request_cancel(running)
    assert not ended and job is not None and job.state == "running" and job.cancel_requested
    beat = store.heartbeat(running, "r", Progress(3, 10, 1, {"counts": {"a": 2}}))
    assert beat.owned and beat.cancel_requested
    assert not store.heartbeat(running, "someone-else").owned
    final = store.finish(running, "r", "cancelled", Progress(4, 10, 1, {"phase": "done"}))
    assert final is not None and final.done == 4 and final.summary == {"counts": {"a": 2}, "phase": "done"}
    # Once finished, its old runner can no longer change it.
    assert not store.heartbeat(running, "r", Progress(9, 10, 0)).owned
    assert store.finish(running, "r", "succeeded") is None
    assert store.get(running).state == "cancelled"  # type: ignore[union-attr]
    assert store.request_cancel(running)[1] is False
    assert store.request_cancel(new_job_id()) == (None, False)


def test_release_requeues_and_recover_takes_back_abandoned_jobs(database: Database) -> None:
    store = JobStore(database)
    a, b = _create(store), _create(store)
    store.claim_next("stopping", NODE)
    assert store.release(a, "stopping", Progress(2, 5, 0))
    released = store.get(a)
    assert (
        released is not None and released.state == "queued" and released.runner is None and released.done == 2
    )
    assert not store.release(a, "stopping")  # not running any more

    store.claim_next("gone", NODE)  # claims a again (oldest first)
    store.claim_next("alive", NODE)  # claims b
    seen: list[str | None] = []

    def abandoned(job: JobInfo) -> bool:
        seen.append(job.runner)
        return job.runner == "gone"

    assert store.recover(abandoned) == [a]
    assert sorted(r for r in seen if r) == ["alive", "gone"]
    assert store.get(a).state == "queued" and store.get(b).state == "running"  # type: ignore[union-attr]


def test_pending_webhooks_are_found_after_a_restart(database: Database) -> None:
    store = JobStore(database)
    pending, delivered, no_hook = (
        _create(store, webhook="http://h/"),
        _create(store, webhook="http://h/"),
        _create(store),
    )
    for job_id in (pending, delivered, no_hook):
        store.claim_next("r", NODE)
        store.finish(job_id, "r", "succeeded")
    store.update_summary(pending, {"webhook": {"state": "pending", "attempts": 2}})
    store.update_summary(delivered, {"webhook": {"state": "delivered", "attempts": 1}})
    since = datetime.now(UTC) - timedelta(hours=1)
    assert [j.id for j in store.pending_webhooks(since)] == [pending]
    assert store.pending_webhooks(datetime.now(UTC) + timedelta(hours=1)) == []


def test_list_is_newest_first_and_filters(database: Database) -> None:
    store = JobStore(database)
    ids = [_create(store) for _ in range(3)]
    store.request_cancel(ids[0])
    assert [j.id for j in store.list_jobs()] == ids[::-1]
    assert [j.id for j in store.list_jobs(state="cancelled")] == [ids[0]]
    assert [j.id for j in store.list_jobs(limit=1)] == [ids[2]]
    assert store.list_jobs(client_id="someone-else") == []
