"""Jobs yield the model to interactive requests: the PoliteClassifier wrapper, and the app wiring."""

from __future__ import annotations

import threading
import time

import numpy as np
from jobs_helpers import JobApp, image, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier
from capsight.jobs.polite import PoliteClassifier


def _batch(onnx_classifier: OnnxClassifier) -> np.ndarray:
    size = onnx_classifier.metadata.preprocessing.input_size
    return np.zeros((2, 3, size, size), dtype=np.float32)


def test_predicts_at_once_when_no_request_waits(onnx_classifier: OnnxClassifier) -> None:
    polite = PoliteClassifier(onnx_classifier, busy=lambda: False)
    probs = polite.predict(_batch(onnx_classifier))
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs, onnx_classifier.predict(_batch(onnx_classifier)))
    assert polite.yielded_s < 0.05
    assert polite.metadata is onnx_classifier.metadata


def test_waits_while_requests_wait_then_goes_on(onnx_classifier: OnnxClassifier) -> None:
    busy = threading.Event()
    busy.set()
    threading.Timer(0.1, busy.clear).start()
    polite = PoliteClassifier(onnx_classifier, busy=busy.is_set, max_yield_s=5.0)
    started = time.monotonic()
    polite.predict(_batch(onnx_classifier))
    waited = time.monotonic() - started
    assert 0.09 <= waited < 2.0  # until the requests were served, not the full 5 s


def test_never_waits_longer_than_max_yield(onnx_classifier: OnnxClassifier) -> None:
    polite = PoliteClassifier(onnx_classifier, busy=lambda: True, max_yield_s=0.05)
    started = time.monotonic()
    polite.predict(_batch(onnx_classifier))
    assert 0.05 <= time.monotonic() - started < 1.0  # a constant load still lets the job progress


def test_interactive_requests_are_served_while_a_job_runs(make_app: JobApp) -> None:
    client = make_app(job_batch_size=2)
    job_id = post_zip(client, labelled_zip(["opened"] * 60)[0]).json()["id"]
    for _ in range(5):
        response = client.post("/v1/classify", files={"file": ("a.png", image("closed"), "image/png")})
        assert response.status_code == 200 and response.json()["label"] == "closed"
    assert wait_for_job(client, job_id)["counts"]["opened"] == 60
