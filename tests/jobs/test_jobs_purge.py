"""Finished jobs go with the retention (CAPSIGHT_RETENTION_DAYS): their rows and published results
from the shared database, once, and their folders from the disk of each replica that holds one.
Before, a finished job's ``out/`` and its results in the database were kept for ever."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jobs_helpers import JobApp, close, labelled_zip, post_zip, wait_for_job

from capsight.cli import main
from capsight.jobs.purge import sweep_purged
from capsight.jobs.shared import SharedJobData
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database
from capsight.store.purge import purge_older_than

OLD = datetime.now(UTC) - timedelta(days=40)


def _job(store: JobStore, state: str, *, finished_at: datetime | None = None) -> str:
    from sqlalchemy import update

    from capsight.store.models import Job

    job_id = new_job_id()
    spec = JobSpec(kind="s3", s3_prefix="s3://b/p")
    store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=1)
    with store.db.session() as session, session.begin():
        session.execute(
            update(Job).where(Job.id == job_id).values(state=state, created_at=OLD, finished_at=finished_at)
        )
    return job_id


def _ids(db: Database) -> set[str]:
    from sqlalchemy import select

    from capsight.store.models import Job

    with db.session() as session:
        return set(session.scalars(select(Job.id)))


def _published(db: Database) -> set[str]:
    from sqlalchemy import select

    from capsight.store.models import JobResultPart

    with db.session() as session:
        return set(session.scalars(select(JobResultPart.job_id)))


def _folder(root: Path, job_id: str, *, age_days: float) -> Path:
    folder = root / job_id
    (folder / "out").mkdir(parents=True)
    (folder / "out" / "results.jsonl").write_text("{}\n")
    (folder / "names.json").write_text("{}\n")
    when = time.time() - age_days * 86400
    for path in (folder / "out" / "results.jsonl", folder / "names.json", folder / "out", folder):
        os.utime(path, (when, when))
    return folder


def test_finished_jobs_past_the_retention_go_with_their_results(database: Database) -> None:
    store, shared = JobStore(database), SharedJobData(database)
    old = [_job(store, state, finished_at=OLD) for state in ("succeeded", "failed", "cancelled")]
    old += [_job(store, "succeeded", finished_at=OLD) for _ in range(120)]  # more than one chunk
    recent = _job(store, "succeeded", finished_at=datetime.now(UTC) - timedelta(days=2))
    running, queued = _job(store, "running"), _job(store, "queued")  # created long ago, never ended
    for job_id in (old[0], recent):
        shared.publish_results(job_id, [])

    result = purge_older_than(database, None, 30)

    assert result.jobs == len(old)
    assert _ids(database) == {recent, running, queued}
    assert _published(database) == {recent}
    assert purge_older_than(database, None, 30).jobs == 0  # deleted once


def test_each_replica_deletes_only_its_own_folders_of_purged_jobs(database: Database, tmp_path: Path) -> None:
    """A job's folder is on the disk of the replica that ran it: each replica sweeps its own, when it
    runs (one that is down keeps its folders until it is back, and holds up no one)."""
    store = JobStore(database)
    a, b = tmp_path / "a" / "jobs", tmp_path / "b" / "jobs"
    gone_a, gone_b = _folder(a, new_job_id(), age_days=40), _folder(b, new_job_id(), age_days=40)
    running = _folder(a, _job(store, "running"), age_days=40)  # a long job: its folder may be old
    fresh = _folder(a, new_job_id(), age_days=1)  # no row (another database?), but inside the window
    kept_done = _folder(a, _job(store, "succeeded", finished_at=datetime.now(UTC)), age_days=40)
    expired = _folder(a, _job(store, "failed", finished_at=OLD), age_days=40)  # its row goes next

    assert sweep_purged(a, store.kept_of, days=30) == 2
    assert not gone_a.exists() and not expired.exists()
    assert gone_b.exists() and running.exists() and fresh.exists() and kept_done.exists()
    assert sweep_purged(b, store.kept_of, days=30) == 1
    assert not gone_b.exists()


def test_a_purged_job_is_404_saying_why_and_its_folder_goes(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app()
    data, expected = labelled_zip(["closed", "opened"])
    old_id = post_zip(client, data).json()["id"]
    assert wait_for_job(client, old_id)["state"] == "succeeded"
    kept_id = post_zip(client, data).json()["id"]
    assert wait_for_job(client, kept_id)["state"] == "succeeded"
    close(client)
    db = Database(f"sqlite:///{tmp_path / 'data' / 'capsight.db'}")
    from sqlalchemy import update

    from capsight.store.models import Job

    with db.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == old_id).values(created_at=OLD, finished_at=OLD))
    db.dispose()
    folder = tmp_path / "data" / "jobs" / old_id
    when = OLD.timestamp()
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (when, when))

    client = make_app(retention_days=30)  # purges at start; its job housekeeping sweeps the folder
    deadline = time.monotonic() + 15
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    for url in (f"/v1/jobs/{old_id}", f"/v1/jobs/{old_id}/results"):
        answer = client.get(url)
        assert answer.status_code == 404, answer.text
        assert "CAPSIGHT_RETENTION_DAYS" in answer.text
    rows = client.get(f"/v1/jobs/{kept_id}/results").text.splitlines()
    assert len(rows) == 1 + len(expected)


def test_db_purge_says_how_many_jobs_went(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where an operator runs a purge by hand: it deletes the ended jobs too, and says so."""
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL", "CAPSIGHT_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    store = JobStore(db)
    old, running = _job(store, "succeeded", finished_at=OLD), _job(store, "running")
    db.dispose()
    assert main(["db", "purge", "--older-than-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "purged 1 ended job (with its published results) that ended over 30 days ago" in out
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    assert _ids(db) == {running} and old not in _ids(db)
    db.dispose()


def test_a_job_past_the_retention_is_404_before_its_row_goes(make_app: JobApp, tmp_path: Path) -> None:
    """The purge runs hourly: in between, a job past the retention was served (200) on one replica
    while another, whose disk had lost its folder, answered otherwise. It is gone from the cutoff."""
    client = make_app(retention_days=30)
    job_id = post_zip(client, labelled_zip(["closed"])[0]).json()["id"]
    assert wait_for_job(client, job_id)["state"] == "succeeded"
    assert client.get(f"/v1/jobs/{job_id}/results").status_code == 200
    from sqlalchemy import update

    from capsight.store.models import Job

    db = Database(f"sqlite:///{tmp_path / 'data' / 'capsight.db'}")
    with db.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(finished_at=OLD))
    db.dispose()
    for url in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/results"):
        answer = client.get(url)
        assert answer.status_code == 404, answer.text
        assert "it ended over 30 days ago" in answer.json()["error"]


def test_a_sweep_stops_at_its_time_budget_and_the_next_goes_on(database: Database, tmp_path: Path) -> None:
    """The budget was checked once per 500 folders: deleting 500 folders of 300 KB took 2.6 to 3.4 s
    in one go on the job housekeeping's thread (a worker's, which then claimed no job meanwhile)."""
    store = JobStore(database)
    root = tmp_path / "jobs"
    folders = [_folder(root, new_job_id(), age_days=40) for _ in range(5)]
    assert sweep_purged(root, store.kept_of, days=30, budget_s=0) == 1  # one folder, then out of time
    assert sum(f.exists() for f in folders) == 4
    while sweep_purged(root, store.kept_of, days=30, budget_s=0):
        pass
    assert not any(f.exists() for f in folders)


def test_replicas_purging_at_once_delete_each_job_once(database: Database) -> None:
    """Every process purges on start, so after a rolling update all replicas purge together."""
    from concurrent.futures import ThreadPoolExecutor

    store, shared = JobStore(database), SharedJobData(database)
    old = [_job(store, "succeeded", finished_at=OLD) for _ in range(250)]  # three chunks
    for job_id in old[::3]:
        shared.publish_results(job_id, [])

    def purge(_: int) -> int:
        return purge_older_than(database, None, 30).jobs

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(purge, range(4)))
    assert sum(counts) == len(old)
    assert _ids(database) == set() and _published(database) == set()


def _parts(db: Database) -> int:
    from sqlalchemy import func, select

    from capsight.store.models import JobResultPart

    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(JobResultPart)) or 0)


def test_big_results_go_a_few_parts_per_transaction(database: Database) -> None:
    """100 ended jobs of 8 MB of published results went in one transaction: on SQLite another write
    (a heartbeat, a claim, the request log's batch) waited 5.3 s, and the step on the request log's
    writer thread, meant to last 0.5 s, lasted 5 to 12 s. A step now stops between transactions of a
    few parts (then: writes waited at most 0.26 s, steps at most 0.53 s)."""
    from sqlalchemy import insert

    from capsight.store.models import JobResultPart

    store = JobStore(database)
    old = [_job(store, "succeeded", finished_at=OLD) for _ in range(6)]
    with database.session() as session, session.begin():
        parts = [{"job_id": j, "part": p, "data": b"x" * 1000} for j in old for p in range(4)]
        session.execute(insert(JobResultPart), parts)
    first = purge_older_than(database, None, 30, budget_s=0)
    assert not first.complete
    assert 24 - _parts(database) <= 8  # one transaction's worth, then out of time
    assert len(_ids(database)) == 6  # rows go once their results are gone
    steps = 1
    while not purge_older_than(database, None, 30, budget_s=0).complete:
        steps += 1
    assert steps >= 3 and _parts(database) == 0 and _ids(database) == set()


def test_the_list_leaves_out_jobs_past_the_retention(make_app: JobApp, tmp_path: Path) -> None:
    """Until the hourly purge deleted its row, a job past the retention was listed, while its own
    URL answered 404."""
    client = make_app(retention_days=30)
    data = labelled_zip(["closed"])[0]
    old_id, kept_id = (post_zip(client, data).json()["id"] for _ in range(2))
    for job_id in (old_id, kept_id):
        assert wait_for_job(client, job_id)["state"] == "succeeded"
    from sqlalchemy import update

    from capsight.store.models import Job

    db = Database(f"sqlite:///{tmp_path / 'data' / 'capsight.db'}")
    with db.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == old_id).values(finished_at=OLD))
    db.dispose()
    listed = [job["id"] for job in client.get("/v1/jobs").json()["jobs"]]
    assert listed == [kept_id]
    page = client.get("/v1/jobs", params={"limit": 1}).json()
    assert [job["id"] for job in page["jobs"]] == [kept_id]
    assert client.get(page["next"]).json() == {"jobs": [], "next": None}  # not the old one, a page on
