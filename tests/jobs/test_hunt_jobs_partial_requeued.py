"""partial=true for a job back in the queue after its replica stopped: the rows it published."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jobs_helpers import JobApp, SlowClassifier, close, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier


def test_partial_rows_of_a_job_back_in_the_queue_are_served_by_every_replica(
    make_app: JobApp, tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    """A stopped mid-job (a rolling update) and published the rows so far before putting the job
    back in the queue. B answered partial=true with 409 "Job ... is running on another replica
    (another replica)": the job was not running, and its rows were in the shared database."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = make_app(data_dir=tmp_path / "a", database_url=url, classifier=SlowClassifier(onnx_classifier, 0.1))
    b = make_app(data_dir=tmp_path / "b", database_url=url, job_workers=0)
    data, expected = labelled_zip(["closed", "opened", "background"] * 10)
    job_id = post_zip(a, data).json()["id"]
    wait_for_job(a, job_id, until=lambda doc: doc["progress"]["done"] >= 4)
    close(a)
    doc = b.get(f"/v1/jobs/{job_id}").json()
    assert doc["state"] == "queued"

    assert b.get(f"/v1/jobs/{job_id}/results").status_code == 409  # not finished: ask with partial
    partial = b.get(f"/v1/jobs/{job_id}/results", params={"partial": "true"})
    assert partial.status_code == 200, partial.text
    assert partial.headers["x-capsight-partial"] == "true"
    assert partial.headers["x-capsight-job-state"] == "queued"
    rows = {row["path"]: row["label"] for row in csv.DictReader(io.StringIO(partial.text))}
    assert len(rows) == doc["progress"]["done"]
    assert all(expected[path] == label for path, label in rows.items())
