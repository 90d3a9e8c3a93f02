"""A cancel that reaches a running job just as its server shuts down: the job ends cancelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobs_helpers import JobApp, SlowClassifier, close, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier
from capsight.jobs.manager import JobManager
from capsight.jobs.values import JobInfo


def test_a_cancel_during_a_graceful_shutdown_ends_the_job_with_its_rows(
    make_app: JobApp, onnx_classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """The worker saw no cancel, the cancel came before it put the job back in the queue: the
    client was answered 202 ("then cancelled"), but the job went back to the queue and stayed
    there, queued, until a worker of its node came back."""
    first = make_app(classifier=SlowClassifier(onnx_classifier, seconds=0.05), job_batch_size=2)
    manager: JobManager = first.app.state.jobs
    job_id = post_zip(first, labelled_zip(["closed"] * 60)[0]).json()["id"]
    wait_for_job(first, job_id, until=lambda d: d["progress"]["done"] >= 4)

    answers: list[Any] = []
    original = manager._publish_before_release

    def cancel_first(job: JobInfo) -> None:  # the exact moment of the race
        answers.append(manager.cancel(job.id))
        original(job)

    manager._publish_before_release = cancel_first  # type: ignore[method-assign]
    close(first)  # lifespan shutdown mid-job
    assert answers and answers[0].state == "running" and answers[0].cancel_requested

    second = make_app(job_workers=0)  # serves the job from the same database and data_dir
    doc = second.get(f"/v1/jobs/{job_id}").json()
    assert doc["state"] == "cancelled", doc
    assert doc["finished_at"] is not None and 4 <= doc["progress"]["done"] < 60
    rows = second.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    assert rows.status_code == 200 and rows.headers["x-capsight-partial"] == "true"
    assert len([json.loads(line) for line in rows.text.splitlines()]) == doc["progress"]["done"]
    folder = tmp_path / "data" / "jobs" / job_id
    assert not (folder / "input").exists() and not (folder / "upload.zip").exists()  # inputs went
