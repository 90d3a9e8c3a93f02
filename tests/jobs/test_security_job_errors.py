"""A job that fails on an unexpected server fault tells its client the kind of fault, not its text:
an OSError names the server's paths, a database error its address, SQL and parameters. The job's
``error`` is read by the client (``GET /v1/jobs/{id}``) and sent to its webhook."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp, labelled_zip, post_zip, wait_for_job

import capsight.jobs.execution as execution_module


def test_an_unexpected_fault_is_named_without_its_text(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/capsight/secrets/db-password")

    monkeypatch.setattr(execution_module, "run_job", fails)
    client = make_app()
    data, _ = labelled_zip(["closed"])
    response = post_zip(client, data)
    assert response.status_code == 202, response.text
    done = wait_for_job(client, response.json()["id"])
    assert done["state"] == "failed"
    assert done["error"] == "Internal error (PermissionError); the server's log has the details."
    assert "/srv" not in str(done)
