"""Fixtures for the job tests: started apps on the real colour model with the real store (SQLite
under tmp_path), and real loopback HTTP servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import ImageServer, JobApp, WebhookReceiver, close, serve

from capsight.api.app import create_app
from capsight.inference import OnnxClassifier
from capsight.settings import Settings


@pytest.fixture(scope="session")
def onnx_classifier(colour_model_dir: Path) -> OnnxClassifier:
    return OnnxClassifier(colour_model_dir, intra_op_threads=1)


def job_settings(model_dir: Path, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "model_dir": model_dir,
        "data_dir": data_dir,
        "intra_op_threads": 1,
        "request_log": False,
        "warmup": False,
        "job_batch_size": 4,
    }
    values.update(overrides)
    return Settings(**values)


def _wait_ready(client: TestClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/health/ready").status_code == 200:
            return
        time.sleep(0.01)
    raise AssertionError("app never became ready")


@pytest.fixture
def make_app(colour_model_dir: Path, tmp_path: Path, onnx_classifier: OnnxClassifier) -> Iterator[JobApp]:
    """``make_app(classifier=..., data_dir=..., **settings)``: a started app whose store (SQLite,
    local folders) is built from settings as in production. ``close(client)`` stops one early."""
    clients: list[TestClient] = []

    def factory(*, classifier: Any = None, data_dir: Path | None = None, **overrides: Any) -> TestClient:
        settings = job_settings(colour_model_dir, data_dir or tmp_path / "data", **overrides)
        client = TestClient(create_app(settings, classifier=classifier or onnx_classifier))
        client.__enter__()
        clients.append(client)
        _wait_ready(client)
        return client

    yield factory
    for client in reversed(clients):
        close(client)


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    yield from serve(ImageServer())


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    yield from serve(WebhookReceiver())
