"""A model that failed to load: with auth on, callers see a generic 503 (the cause names server
paths); the cause stays in the server log, and with auth off (an open, operator-run server) in
the answer too."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import make_settings

from capsight.api.app import create_app
from capsight.store.services import Services

ROUTES = ["/health/ready", "/v1/models", "/v2/models/anything", "/v2/health/ready"]


def _failed_app(tmp_path: Path, **overrides: object) -> TestClient:
    missing = tmp_path / "secret-folder" / "no-model-here"
    settings = make_settings(missing, tmp_path, **overrides)
    client = TestClient(create_app(settings, services=Services()))
    client.__enter__()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "failed" not in client.get("/health/ready").text:
        time.sleep(0.01)
    return client


@pytest.mark.parametrize("path", ROUTES)
def test_with_auth_on_a_caller_is_not_shown_the_load_error(
    tmp_path: Path, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    client = _failed_app(tmp_path, auth_enabled=True)
    try:
        r = client.get(path)
        assert r.status_code == 503
        error = r.json()["error"]
        assert "failed to load" in error
        assert "secret-folder" not in error and str(tmp_path) not in error
        assert "secret-folder" in caplog.text  # the operator still has the cause
    finally:
        client.__exit__(None, None, None)


def test_with_auth_off_the_load_error_is_shown(tmp_path: Path) -> None:
    client = _failed_app(tmp_path)
    try:
        assert "secret-folder" in client.get("/health/ready").json()["error"]
    finally:
        client.__exit__(None, None, None)
