"""A zip job answered 503 because the job database did not answer in time (another ``capsight serve``
worker holding the SQLite write lock) must not exist afterwards: its upload is deleted with the 503,
and the job created late anyway failed ("not a readable zip archive") beside the client's retry."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from jobs_helpers import JobApp, labelled_zip, post_zip

from capsight.store import deadline


def test_a_job_answered_503_at_its_deadline_is_not_created(
    make_app: JobApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(job_workers=0)
    assert client.get("/v1/jobs").json()["jobs"] == []  # migrated, so the lock below is all that waits
    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", 0.5)
    other_worker = sqlite3.connect(tmp_path / "data" / "capsight.db", isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    try:
        r = post_zip(client, labelled_zip(["opened", "closed"])[0])
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()
    assert r.status_code == 503, r.text
    time.sleep(1.0)  # the abandoned insert gets the lock now (before: it committed within ~0.1 s)
    assert client.get("/v1/jobs").json()["jobs"] == []
