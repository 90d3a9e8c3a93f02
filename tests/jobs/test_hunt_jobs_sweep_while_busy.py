"""A node sweeps the inputs of jobs that ended elsewhere while its worker runs a long job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jobs_helpers import JobApp, SlowClassifier, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier
from capsight.jobs import manager as manager_module


def test_a_busy_node_still_sweeps_the_upload_of_a_job_cancelled_elsewhere(
    make_app: JobApp, tmp_path: Path, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Housekeeping ran only between jobs, in the worker thread: while one long job ran, the upload
    of a queued job cancelled through another replica (and its share of the disk budget, refusing
    new zips with 503) stayed until that job ended, hours later, not "every minute"."""
    monkeypatch.setattr(manager_module, "RECOVER_EVERY_S", 0.2)
    monkeypatch.setattr(manager_module, "NODE_BEAT_S", 0.1)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    slow = SlowClassifier(onnx_classifier, seconds=0.2)
    a = make_app(data_dir=tmp_path / "a", database_url=url, classifier=slow, job_batch_size=1)
    b = make_app(data_dir=tmp_path / "b", database_url=url, job_workers=0)
    long_job = post_zip(a, labelled_zip(["closed"] * 200)[0]).json()["id"]
    wait_for_job(a, long_job, until=lambda doc: doc["state"] == "running")
    queued = post_zip(a, labelled_zip(["opened"])[0]).json()["id"]
    upload = tmp_path / "a" / "jobs" / queued / "upload.zip"
    assert upload.exists()  # checked before the cancel: a's sweep may remove it 0.1 s after
    assert b.delete(f"/v1/jobs/{queued}").json()["state"] == "cancelled"  # reaches another replica

    deadline = time.monotonic() + 10
    while upload.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not upload.exists(), "the cancelled job's upload was kept while the long job ran"
    assert a.get(f"/v1/jobs/{long_job}").json()["state"] == "running"  # it was swept mid-job
    a.delete(f"/v1/jobs/{long_job}")
