"""What `capsight db purge` prints: counts and days in words, once, and no Python repr on stderr.

Why: a purge of one old request said "purged 1 requests, 1 classifications, 1 images, 0 feedback
older than 1 days" and "purged 1 ended jobs (with their published results) that ended over 1 days
ago", and stderr repeated it as "INFO capsight.store.requestlog: retention purge (older than 1
days): PurgeResult(requests=1, classifications=1, images=1, feedback=0, jobs=1, complete=True)":
a cron mail of two summaries, one of them a dataclass's repr. The server's own hourly purge logged
that repr too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.purge import RetentionPurge

OLD = datetime.now(UTC) - timedelta(days=3)


def _old_log(data_dir: Path, requests: int, jobs: int) -> None:
    """``requests`` logged 3 days ago with a stored image each, and ``jobs`` that ended then."""
    db = Database(f"sqlite:///{data_dir / 'capsight.db'}")
    photos = [f"photo {i}".encode() for i in range(requests)]
    records = [(make_record(created_at=OLD, image_sha256=sha256_hex(p)), p) for p in photos]
    write_batch(db, LocalBlobStore(data_dir / "images"), records)
    store = JobStore(db)
    for _ in range(jobs):
        from sqlalchemy import update

        from capsight.store.models import Job

        job_id = new_job_id()
        spec = JobSpec(kind="s3", s3_prefix="s3://b/p")
        store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=1)
        with db.session() as session, session.begin():
            values = {"state": "succeeded", "created_at": OLD, "finished_at": OLD}
            session.execute(update(Job).where(Job.id == job_id).values(**values))
    db.dispose()


def _purge(data_dir: Path, days: str) -> subprocess.CompletedProcess[str]:
    """As an operator runs it: a fresh process, with the CLI's own logging on stderr."""
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir)}
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL", "CAPSIGHT_RETENTION_DAYS"):
        env.pop(name, None)
    command = [sys.executable, "-m", "capsight", "db", "purge", "--older-than-days", days]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_one_of_each_is_said_in_the_singular_and_once(tmp_path: Path) -> None:
    _old_log(tmp_path, requests=1, jobs=1)
    done = _purge(tmp_path, "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "purged 1 request, 1 classification, 1 image, 0 feedback older than 1 day\n"
        "purged 1 ended job (with its published results) that ended over 1 day ago\n"
    )
    assert "PurgeResult" not in done.stderr and "retention purge" not in done.stderr, done.stderr


def test_many_and_part_days_are_said_in_the_plural(tmp_path: Path) -> None:
    _old_log(tmp_path, requests=2, jobs=2)
    done = _purge(tmp_path, "1.5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "purged 2 requests, 2 classifications, 2 images, 0 feedback older than 1.5 days\n"
        "purged 2 ended jobs (with their published results) that ended over 1.5 days ago\n"
    )


def test_the_servers_purge_logs_its_totals_in_words(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _old_log(tmp_path, requests=1, jobs=0)
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    purge = RetentionPurge(db, LocalBlobStore(tmp_path / "images"), 1, interval_s=3600, step_s=5)
    with caplog.at_level(logging.INFO, logger="capsight.store.requestlog"):
        purge.step()
    db.dispose()
    lines = [r.getMessage() for r in caplog.records if "retention purge" in r.getMessage()]
    assert lines == [
        "retention purge (older than 1 day): 1 request, 1 classification, 1 image, 0 feedback, 0 ended jobs"
    ]
