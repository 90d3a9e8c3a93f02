"""A database call of a request that ran out of time (another ``capsight serve`` worker holding the
SQLite write lock) is logged with a reason: the warning said "feedback could not be recorded: " and
stopped there (a timeout's message is empty), leaving the operator nothing to go on."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from helpers import AppFactory

from capsight.store import deadline


def test_a_feedback_write_that_timed_out_says_so_in_the_log(
    make_client: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(store=True, job_workers=0)
    assert client.get("/v1/requests").status_code == 200  # migrated: only the lock below waits
    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", 0.3)
    other_worker = sqlite3.connect(tmp_path / "capsight.db", isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING, logger="capsight.api.routes.feedback"):
            r = client.post("/v1/feedback", json={"request_id": "req-1", "label": "opened"})
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()
    assert r.status_code == 503
    (line,) = [rec.getMessage() for rec in caplog.records if "could not be recorded" in rec.getMessage()]
    assert line.endswith("TimeoutError"), line
