"""A zip job's request cancelled (the client gone, the server shutting down) as its row commits.

Found: the handler's cleanup ran as soon as the cancellation reached it, deleting the job folder with
the upload in it, while the database thread's commit of the job row, already begun, went on and
landed: a queued job whose upload was gone, failed later ("no longer on the server's disk") with
nobody told, the request lost. Now a cancellation that meets a commit that has begun waits for it:
a job whose row landed keeps its upload and runs; one whose row never lands leaves no folder.

The cancellation is delivered at a chosen point: from inside the database thread's call, the
request's own task is cancelled (as the server cancels a request whose client went), the row
committed or not yet. Real app, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp, labelled_zip, wait_for_job

from capsight.jobs.manager import JobManager
from capsight.store import deadline
from servers import PostgresServer

LABELS = ["closed", "opened", "background", "closed"]


def _database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_schema()


def _post_in_own_task(client: TestClient, data: bytes) -> asyncio.Task[Any]:
    """The request as the server runs it: one task of the app's event loop, which can be cancelled."""

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await http.post("/v1/jobs", files={"file": ("images.zip", data, "application/zip")})

    async def start() -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(post())

    portal = client.portal
    assert portal is not None
    return portal.call(start)


def _ended(client: TestClient, task: asyncio.Task[Any]) -> None:
    async def wait() -> None:
        await asyncio.wait({task}, timeout=60)

    assert client.portal is not None
    client.portal.call(wait)
    assert task.done(), "the cancelled request never ended"
    assert task.cancelled(), f"the request was not cancelled: {task.result()}"


def _abandoned() -> None:
    """In the database thread: until the call's caller is gone (its commit will not happen)."""
    guard = deadline.COMMIT_GUARD.get()
    assert guard is not None
    while guard.connection_wait(1.0) != 0.0:
        time.sleep(0.005)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("committed", [True, False], ids=["after-commit", "before-commit"])
def test_a_zip_job_cancelled_at_its_commit_keeps_its_upload_or_leaves_nothing(
    make_app: JobApp,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    committed: bool,
) -> None:
    client = make_app(database_url=_database_url(backend, tmp_path, request))
    manager = client.app.state.jobs  # type: ignore[attr-defined]
    assert isinstance(manager, JobManager)
    real_create: Callable[..., Any] = manager.store.create
    job_ids: list[str] = []
    task: asyncio.Task[Any] | None = None

    def create_as_the_client_goes(job_id: str, **kwargs: Any) -> Any:
        job_ids.append(job_id)
        assert task is not None
        if committed:
            job = real_create(job_id, **kwargs)  # the row has landed
            task.get_loop().call_soon_threadsafe(task.cancel)  # before the handler hears of it
            return job
        task.get_loop().call_soon_threadsafe(task.cancel)
        _abandoned()
        return real_create(job_id, **kwargs)  # its commit is refused: the caller is gone

    monkeypatch.setattr(manager.store, "create", create_as_the_client_goes)
    data, expected = labelled_zip(LABELS)
    task = _post_in_own_task(client, data)
    _ended(client, task)
    assert deadline.wait_for_calls(30)
    monkeypatch.undo()
    [job_id] = job_ids
    folder = manager.paths(job_id).root

    if not committed:  # neither the job nor its upload
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
        assert not folder.exists()
        return
    # The job exists, so its upload must: it runs to the end, every image classified.
    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": len(LABELS), "total": len(LABELS)}
    rows = client.get(f"/v1/jobs/{job_id}/results?format=csv")
    assert rows.status_code == 200, rows.text
    assert {r["path"]: r["label"] for r in csv.DictReader(io.StringIO(rows.text))} == expected
