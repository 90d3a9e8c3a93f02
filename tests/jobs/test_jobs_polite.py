"""Jobs yield the model to interactive requests: the PoliteClassifier wrapper, and the app wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jobs_helpers import JobApp, image, labelled_zip, post_zip, wait_for_job

from capsight.inference import OnnxClassifier
from capsight.jobs import polite as polite_module
from capsight.jobs.polite import PoliteClassifier


def _batch(onnx_classifier: OnnxClassifier) -> np.ndarray:
    size = onnx_classifier.metadata.preprocessing.input_size
    return np.zeros((2, 3, size, size), dtype=np.float32)


class _Clock:
    """The wrapper's clock: ``sleep`` is recorded and moves ``monotonic`` on, nothing is waited.
    Staged, not timed: what the wrapper waited is read from the sleeps it asked for."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < 10_000, "the wrapper never stopped waiting"
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(polite_module, "time", fake)
    return fake


class _Busy:
    """Requests wait for the first ``asks`` questions, none after; the asks are counted."""

    def __init__(self, asks: float) -> None:
        self.busy_for, self.asks = asks, 0

    def __call__(self) -> bool:
        self.asks += 1
        return self.asks <= self.busy_for


class _Inner:
    """The model, noting how many times requests had been asked about when it was called."""

    def __init__(self, inner: OnnxClassifier, busy: _Busy) -> None:
        self.inner, self.busy, self.metadata = inner, busy, inner.metadata
        self.called_after: list[int] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.called_after.append(self.busy.asks)
        return self.inner.predict(batch)


def test_predicts_at_once_when_no_request_waits(onnx_classifier: OnnxClassifier, clock: _Clock) -> None:
    polite = PoliteClassifier(onnx_classifier, busy=lambda: False)
    probs = polite.predict(_batch(onnx_classifier))
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs, onnx_classifier.predict(_batch(onnx_classifier)))
    assert clock.sleeps == [] and polite.yielded_s == 0.0
    assert polite.metadata is onnx_classifier.metadata


def test_waits_while_requests_wait_then_goes_on(onnx_classifier: OnnxClassifier, clock: _Clock) -> None:
    busy = _Busy(asks=50)
    inner = _Inner(onnx_classifier, busy)
    polite = PoliteClassifier(inner, busy=busy, max_yield_s=5.0, poll_s=0.002)
    polite.predict(_batch(onnx_classifier))
    # Until the requests were served (50 polls of 2 ms), not the full 5 s.
    assert clock.sleeps == [0.002] * 50
    assert inner.called_after == [51]
    assert polite.yielded_s == pytest.approx(0.1)


def test_never_waits_longer_than_max_yield(onnx_classifier: OnnxClassifier, clock: _Clock) -> None:
    busy = _Busy(asks=math.inf)
    inner = _Inner(onnx_classifier, busy)
    polite = PoliteClassifier(inner, busy=busy, max_yield_s=0.05, poll_s=0.002)
    polite.predict(_batch(onnx_classifier))
    assert len(inner.called_after) == 1  # a constant load still lets the job progress
    assert polite.yielded_s == pytest.approx(0.05, abs=0.002)  # one poll past max_yield at most
    assert len(clock.sleeps) in (25, 26)


def test_interactive_requests_are_served_while_a_job_runs(make_app: JobApp) -> None:
    client = make_app(job_batch_size=2)
    job_id = post_zip(client, labelled_zip(["opened"] * 60)[0]).json()["id"]
    for _ in range(5):
        response = client.post("/v1/classify", files={"file": ("a.png", image("closed"), "image/png")})
        assert response.status_code == 200 and response.json()["label"] == "closed"
    assert wait_for_job(client, job_id)["counts"]["opened"] == 60
