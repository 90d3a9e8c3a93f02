"""DELETE /v1/jobs/{id} racing the job's end: a job that succeeded first is 409, as documented."""

from __future__ import annotations

from typing import Any

from jobs_helpers import JobApp, labelled_zip, post_zip

from capsight.jobs.manager import JobManager


def test_a_job_that_succeeds_while_its_cancel_is_on_its_way_is_409(make_app: JobApp) -> None:
    """The route read the job running, then the worker finished it before the cancel's UPDATE: the
    answer was 200 with a succeeded job, which clients read as "cancelled at once"."""
    client = make_app(job_workers=0)
    manager: JobManager = client.app.state.jobs
    job_id = post_zip(client, labelled_zip(["closed"])[0]).json()["id"]
    claimed = manager.store.claim_next("worker", manager.node)
    assert claimed is not None and claimed.id == job_id
    original = manager.store.request_cancel

    def worker_finishes_first(job: str) -> Any:
        assert manager.store.finish(job, "worker", "succeeded") is not None
        return original(job)

    manager.store.request_cancel = worker_finishes_first  # type: ignore[method-assign]
    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.status_code == 409, response.text
    assert response.json() == {"error": f"Job {job_id} has already succeeded."}
    doc = client.get(f"/v1/jobs/{job_id}").json()
    assert doc["state"] == "succeeded"
