"""The 409 for a running job's results names ``partial=true``, which answers with the rows so far.

A script that asked for the results of a running job got "Job ... is running; its results are
ready when it has finished." and, not knowing of ``partial=true`` (README, docs/jobs.md), could
only poll until the end."""

from __future__ import annotations

from jobs_helpers import JobApp, SlowClassifier, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier


def test_results_of_a_running_job_name_partial_true(
    make_app: JobApp, onnx_classifier: OnnxClassifier
) -> None:
    client = make_app(classifier=SlowClassifier(onnx_classifier, 0.3))
    data, _ = labelled_zip(["closed", "opened", "background"] * 10)
    job_id = post_zip(client, data).json()["id"]
    wait_for_job(client, job_id, until=lambda doc: doc["state"] == "running")

    r = client.get(f"/v1/jobs/{job_id}/results")
    assert client.get(f"/v1/jobs/{job_id}").json()["state"] == "running"  # still, after the answer
    assert r.status_code == 409
    assert r.json() == {
        "error": f"Job {job_id} is running; its results are ready when it has finished"
        " (ask with partial=true for the rows so far)."
    }
    assert client.get(f"/v1/jobs/{job_id}/results", params={"partial": "true"}).status_code == 200
