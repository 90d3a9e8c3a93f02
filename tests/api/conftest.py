"""Fixtures for the API tests: started apps on the tiny real colour model (helpers in helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, make_settings, wait_ready
from capsight.api.app import create_app
from capsight.inference import OnnxClassifier
from capsight.settings import Settings
from capsight.store.services import Services


@pytest.fixture(scope="session")
def onnx_classifier(colour_model_dir: Path) -> OnnxClassifier:
    return OnnxClassifier(colour_model_dir, intra_op_threads=1)


@pytest.fixture
def settings(colour_model_dir: Path, tmp_path: Path) -> Settings:
    return make_settings(colour_model_dir, tmp_path)


@pytest.fixture
def make_client(
    colour_model_dir: Path, tmp_path: Path, onnx_classifier: OnnxClassifier
) -> Iterator[AppFactory]:
    """Build a started app: ``make_client(classifier=..., services=..., store=..., **settings)``."""
    clients: list[TestClient] = []

    def factory(
        *,
        classifier: Any = None,
        services: Services | None = None,
        store: bool = False,
        ready: bool = True,
        default_classifier: bool = True,
        **overrides: Any,
    ) -> TestClient:
        """``store=True``: the app builds the real store backends from settings (SQLite + local
        folder under tmp_path by default), as in production; else ``services`` or an empty bundle."""
        if classifier is None and default_classifier:
            classifier = onnx_classifier
        if services is None and not store:
            services = Services()
        data_dir = overrides.pop("data_dir", tmp_path)
        app = create_app(
            make_settings(colour_model_dir, data_dir, **overrides), classifier=classifier, services=services
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        if ready:
            wait_ready(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()
