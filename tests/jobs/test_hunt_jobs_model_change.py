"""A job resumed under another model fails saying so, without naming the server's files."""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import JobApp, labelled_zip, post_zip, wait_for_job

from capsight.batch.records import error_record
from capsight.batch.resultlog import ResultLog
from capsight.jobs.manager import JobManager


def test_a_model_change_between_runs_fails_the_job_without_server_paths(
    make_app: JobApp, tmp_path: Path
) -> None:
    """The batch runner's refusal starts with the absolute path of the job's results.jsonl, and the
    job showed it whole as its error (GET /v1/jobs/{id}, the webhook): a server path, and a hint to
    "choose another output folder" that a client cannot follow."""
    client = make_app(job_workers=0)
    manager: JobManager = client.app.state.jobs
    job_id = post_zip(client, labelled_zip(["closed", "opened"])[0]).json()["id"]
    # What an earlier run of this job left, under the model the server served then.
    out = manager.paths(job_id).out
    out.mkdir(parents=True)
    with ResultLog(manager.paths(job_id).results) as log:
        log.append(
            [error_record(str(tmp_path / "x.png"), "InvalidImage: x", model="older", model_version="0.9")]
        )

    manager.settings.job_workers = 1
    manager.start()
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed"
    error = done["error"]
    assert str(tmp_path) not in error and "results.jsonl" not in error, error
    assert "older 0.9" in error
