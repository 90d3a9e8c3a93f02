"""A data_dir that ran a release before the ``jobs-reserving/`` index again (a downgrade, then an
upgrade) has its index mended by the sweep at start-up (and every minute after).

Why: the index says which job folders the budget reads; it is built from every job folder only when
it is missing. An older release writes reservations without naming them in it, so after the upgrade
a queued upload's reservation (or a URL job's downloads) did not count, and the budget let in more
than ``CAPSIGHT_MAX_JOB_DISK_BYTES``. The stale state is made by hand here, as the older release
leaves it: a reservation missing from the index, and an entry for a job that ended meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import JobApp, labelled_zip, post_zip

from capsight.jobs.diskbudget import INDEX_NAME, read_reservation, reservation_path
from capsight.jobs.manager import JobManager
from capsight.jobs.values import new_job_id


def test_the_sweep_puts_a_reservation_missing_from_the_index_back(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app(job_workers=0, max_job_disk_bytes=50_000_000)
    jobs: JobManager = client.app.state.jobs  # type: ignore[attr-defined]
    data, _ = labelled_zip(["closed"])
    kept, unindexed = (post_zip(client, data).json()["id"] for _ in range(2))
    index = tmp_path / "data" / INDEX_NAME
    held = {job: read_reservation(jobs.paths(job).root) for job in (kept, unindexed)}
    assert all(held.values())

    # What the older release left: a job whose reservation it wrote (the index does not name it) ...
    (index / unindexed).unlink()
    # ... and a job that ended under it (its inputs and reservation gone, its entry kept).
    ended = jobs.root / new_job_id()
    (ended / "out").mkdir(parents=True)
    (index / ended.name).touch()
    assert jobs.disk_budget.used() == held[kept]  # the stale index counts one of the two

    jobs._housekeeping()  # what a process with job workers does at start-up, then every minute
    assert jobs.disk_budget.used() == sum(held.values())
    assert sorted(p.name for p in index.iterdir()) == sorted([kept, unindexed])
    assert reservation_path(jobs.paths(unindexed).root).exists()  # a queued job's upload: kept
