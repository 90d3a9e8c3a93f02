"""Helpers for the API tests: small test classifiers around the real colour model, app plumbing,
and image bytes for every contract case.

The test classifiers wrap the real ONNX colour model and change one thing each (fail, block, slow
down), so every test still runs real decoding, preprocessing, batching and inference.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from capsight.api.runtime import ServingRuntime
from capsight.inference import OnnxClassifier
from capsight.inference.metadata import ModelMetadata
from capsight.settings import Settings
from model_factory import LABEL_COLOURS, solid_image_bytes


class WrappedClassifier:
    """The real colour model behind the Classifier protocol, with hooks for tests."""

    def __init__(self, inner: OnnxClassifier) -> None:
        self.inner = inner
        self.metadata: ModelMetadata = inner.metadata
        self.calls: list[int] = []  # batch size of every predict call

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        return self.inner.predict(batch)


class FailingClassifier(WrappedClassifier):
    def predict(self, batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("simulated ONNX Runtime failure")


class GatedClassifier(WrappedClassifier):
    """predict blocks until the test opens the gate; ``entered`` says a call is waiting."""

    def __init__(self, inner: OnnxClassifier) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.entered.set()
        if not self.gate.wait(timeout=10):
            raise TimeoutError("gate never opened")
        return super().predict(batch)


class SlowWarmupClassifier(WrappedClassifier):
    """Warm-up blocks until released: the app is live but not ready meanwhile."""

    def __init__(self, inner: OnnxClassifier) -> None:
        super().__init__(inner)
        self.release = threading.Event()

    def warmup(self, max_batch: int = 1) -> None:
        self.release.wait(timeout=10)


class SlowClassifier(WrappedClassifier):
    """Each model call takes a while, so concurrent requests pile up into batches."""

    def __init__(self, inner: OnnxClassifier, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def predict(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        return super().predict(batch)


def make_settings(model_dir: Path, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "model_dir": model_dir,
        "data_dir": data_dir,
        "intra_op_threads": 1,
        "batch_max_wait_ms": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


def wait_ready(client: TestClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/health/ready").status_code == 200:
            return
        time.sleep(0.005)
    raise AssertionError("app never became ready")


AppFactory = Callable[..., TestClient]


def runtime_of(client: TestClient) -> ServingRuntime:
    app = client.app
    assert isinstance(app, FastAPI)
    runtime: ServingRuntime = app.state.runtime
    return runtime


def metric_sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in a /metrics page, matched by name and labels."""
    import re

    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    raise AssertionError(f"no sample {name} {labels}")


def jpeg(label: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG that the colour model classifies as ``label``."""
    return solid_image_bytes(LABEL_COLOURS[label], "JPEG", size)


def png(label: str, size: tuple[int, int] = (64, 48)) -> bytes:
    return solid_image_bytes(LABEL_COLOURS[label], "PNG", size)


def unique_png(label: str, size: tuple[int, int] = (32, 24)) -> bytes:
    """A PNG of ``label``'s colour whose bytes no other call returns (a random id in a text chunk):
    its hash is new to every cache and log, even on a server shared by the whole session."""
    import io
    import uuid

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("id", uuid.uuid4().hex)
    buf = io.BytesIO()
    Image.new("RGB", size, LABEL_COLOURS[label]).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def truncated_jpeg() -> bytes:
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    return data[: len(data) // 2]
