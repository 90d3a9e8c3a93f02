"""An S3 endpoint that goes away part-way through an S3-prefix job (a real moto server, stopped).

Every remaining object became an error row after its retries ("ConnectionError: the S3 endpoint
cannot be reached"), and the job ended ``succeeded`` with hundreds of rows that were one outage.
Now several unreachable objects in a row fail the job with one error that names the outage, and the
rows done before it are kept; an object that S3 answers about (deleted: NoSuchKey) stays an error row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp, image, wait_for_job

from capsight.inference import ModelMetadata, OnnxClassifier
from capsight.jobs.pipeline import S3_OUTAGE_OBJECTS
from servers import S3Server, start_s3

pytestmark = pytest.mark.s3

OBJECTS = 40
BATCH = 4
UNREACHABLE = "ConnectionError: the S3 endpoint cannot be reached"


class PausingClassifier:
    """The real model; its first batch waits until the test has changed the world (the S3 server)."""

    def __init__(self, inner: OnnxClassifier, change: Callable[[], None]) -> None:
        self.inner = inner
        self.metadata: ModelMetadata = inner.metadata
        self.change = change
        self._first = threading.Lock()
        self._done = False

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._first:
            if not self._done:
                self._done = True
                self.change()  # in the job's thread, before its first batch has a row
        return self.inner.predict(batch)


@pytest.fixture
def own_s3(s3_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A moto server of this test's own (the session's is shared, and this one is stopped)."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # each object fails at once, not after botocore's retries
    with start_s3() as server:
        yield server


def _fill(server: S3Server) -> str:
    bucket = server.create_bucket()
    s3 = server.client()
    for i in range(OBJECTS):
        s3.put_object(Bucket=bucket, Key=f"in/{i:03d}.png", Body=image("opened"))
    return bucket


def _rows(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/jobs/{job_id}/results?format=jsonl")
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_an_endpoint_that_goes_away_mid_job_fails_it_with_one_error(
    make_app: JobApp, own_s3: S3Server, onnx_classifier: OnnxClassifier
) -> None:
    bucket = _fill(own_s3)
    classifier = PausingClassifier(onnx_classifier, own_s3.stop)
    client = make_app(
        classifier=classifier,
        job_url_allowlist=[f"s3://{bucket}/"],
        s3_endpoint_url=own_s3.endpoint_url,
        job_batch_size=BATCH,
    )
    job_id = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/in/"}).json()["id"]
    done = wait_for_job(client, job_id, timeout=60)

    assert done["state"] == "failed", done
    error = done["error"]
    assert "S3 endpoint" in error and "in a row" in error, error
    assert own_s3.endpoint_url not in error and str(own_s3.port) not in error
    rows = _rows(client, job_id)
    good = [r for r in rows if r["error"] is None]
    unreachable = [r for r in rows if r["error"] == UNREACHABLE]
    assert len(good) >= BATCH  # read before the server stopped, and kept
    assert len(good) + len(unreachable) == len(rows)
    # It stops at the batch where the run of unreachable objects reaches the limit, not at the end.
    assert S3_OUTAGE_OBJECTS <= len(unreachable) < S3_OUTAGE_OBJECTS + BATCH, len(unreachable)
    assert len(rows) < OBJECTS
    assert done["progress"]["done"] == len(rows) and done["errors"] == len(unreachable)
    response = client.get(f"/v1/jobs/{job_id}/results?format=csv")
    assert response.headers["X-Capsight-Partial"] == "true"


def test_objects_that_s3_answers_about_stay_error_rows(
    make_app: JobApp, own_s3: S3Server, onnx_classifier: OnnxClassifier
) -> None:
    """Objects deleted after the listing: S3 answers NoSuchKey for each, which is about that object."""
    bucket = _fill(own_s3)
    s3 = own_s3.client()

    def delete_the_rest() -> None:
        for i in range(OBJECTS):  # those read already are classified
            s3.delete_object(Bucket=bucket, Key=f"in/{i:03d}.png")

    client = make_app(
        classifier=PausingClassifier(onnx_classifier, delete_the_rest),
        job_url_allowlist=[f"s3://{bucket}/"],
        s3_endpoint_url=own_s3.endpoint_url,
        job_batch_size=BATCH,
    )
    job_id = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/in/"}).json()["id"]
    done = wait_for_job(client, job_id, timeout=60)

    assert done["state"] == "succeeded", done
    rows = _rows(client, job_id)
    assert len(rows) == OBJECTS
    errors = [r["error"] for r in rows if r["error"] is not None]
    assert len(errors) >= OBJECTS - 3 * BATCH  # the engine reads at most two batches ahead
    assert all("NoSuchKey" in e for e in errors), errors[:3]
