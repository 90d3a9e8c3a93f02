"""Cancelling a running job: it stops between batches, keeps the rows it has, and says so."""

from __future__ import annotations

import json

from jobs_helpers import (
    WEBHOOK_SECRET,
    JobApp,
    SlowClassifier,
    WebhookReceiver,
    labelled_zip,
    post_zip,
    wait_for_job,
)

from capsight.inference import OnnxClassifier


def test_a_running_job_stops_between_batches_when_cancelled(
    make_app: JobApp, onnx_classifier: OnnxClassifier, receiver: WebhookReceiver
) -> None:
    slow = SlowClassifier(onnx_classifier, seconds=0.05)
    client = make_app(
        classifier=slow, job_batch_size=2, webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[receiver.base]
    )
    labels = ["background", "closed", "opened"] * 30
    job_id = post_zip(client, labelled_zip(labels)[0], webhook_url=receiver.base).json()["id"]
    wait_for_job(client, job_id, until=lambda d: d["progress"]["done"] >= 4)

    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.status_code == 202
    assert response.json()["state"] == "running" and response.json()["cancel_requested"] is True
    done = wait_for_job(client, job_id)
    assert done["state"] == "cancelled"
    assert done["finished_at"] is not None
    assert 4 <= done["progress"]["done"] < len(labels)
    assert done["progress"]["total"] == len(labels)
    assert sum(done["counts"].values()) == done["progress"]["done"]
    assert slow.images == done["progress"]["done"]  # nothing classified after the stop

    partial = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    assert partial.status_code == 200
    assert partial.headers["x-capsight-partial"] == "true"
    assert len(partial.text.splitlines()) == done["progress"]["done"]

    (call,) = receiver.wait_for(1)
    assert json.loads(call.body)["job"]["state"] == "cancelled"


def test_partial_results_can_be_read_while_running(make_app: JobApp, onnx_classifier: OnnxClassifier) -> None:
    client = make_app(classifier=SlowClassifier(onnx_classifier, seconds=0.05), job_batch_size=2)
    job_id = post_zip(client, labelled_zip(["closed"] * 100)[0]).json()["id"]
    running = wait_for_job(client, job_id, until=lambda d: d["progress"]["done"] >= 2)
    assert running["state"] == "running" and running["phase"] == "classifying"
    assert client.get(f"/v1/jobs/{job_id}/results").status_code == 409
    partial = client.get(f"/v1/jobs/{job_id}/results", params={"partial": "true", "format": "jsonl"})
    assert partial.status_code == 200 and partial.headers["x-capsight-job-state"] == "running"
    rows = [json.loads(line) for line in partial.text.splitlines()]
    assert 2 <= len(rows) < 100 and all(r["label"] == "closed" for r in rows)
    client.delete(f"/v1/jobs/{job_id}")
    assert wait_for_job(client, job_id)["state"] == "cancelled"
