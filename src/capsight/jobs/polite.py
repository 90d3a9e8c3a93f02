"""A classifier wrapper that lets interactive requests go first.

Jobs call the same ONNX Runtime session as the API's micro-batcher, from their own thread (ORT
sessions are safe to run concurrently). Left alone, a job would keep the CPU cores busy with one
model call after another and a request arriving meanwhile would wait for the cores. So before each
of its (small) model calls, a job checks whether the micro-batcher holds admitted requests and, if so,
waits for them to clear, up to ``max_yield_s``: interactive latency stays close to that of an idle
server, while a job still makes progress (one batch per ``max_yield_s``) under a constant load.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from capsight.inference.classifier import Classifier
from capsight.inference.metadata import ModelMetadata


class PoliteClassifier:
    def __init__(
        self,
        inner: Classifier,
        busy: Callable[[], bool],
        *,
        max_yield_s: float = 0.25,
        poll_s: float = 0.002,
    ) -> None:
        self.inner = inner
        self.metadata: ModelMetadata = inner.metadata
        self.busy = busy
        self.max_yield_s = max_yield_s
        self.poll_s = poll_s
        self.yielded_s = 0.0  # total time spent waiting for interactive work (for tests and logs)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        started = time.monotonic()
        deadline = started + self.max_yield_s
        while self.busy() and time.monotonic() < deadline:
            time.sleep(self.poll_s)
        self.yielded_s += time.monotonic() - started
        return self.inner.predict(batch)
