"""A model that failed to load: with auth on, callers see a generic 503 (the cause names server
paths); the cause stays in the server log, and with auth off (an open, operator-run server) in
the answer too."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import make_settings, runtime_of

from capsight.api.app import create_app
from capsight.api.runtime import LOAD_FAILED_GENERIC
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


def _failed_app_with_keys(tmp_path: Path) -> tuple[TestClient, str, str]:
    """A failed server with auth on and the real key store; returns it, an admin key, a classify key."""
    missing = tmp_path / "secret-folder" / "no-model-here"
    client = TestClient(create_app(make_settings(missing, tmp_path, auth_enabled=True)))
    client.__enter__()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "failed" not in client.get("/health/ready").text:
        time.sleep(0.01)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, admin_key = keys.create_key("ops", "admin")
    _, classify_key = keys.create_key("app")
    return client, admin_key, classify_key


@pytest.mark.parametrize("path", ROUTES)
def test_with_auth_on_an_admin_key_is_shown_the_load_error(tmp_path: Path, path: str) -> None:
    """The operator holding an admin key reads the cause from the answer (as from reload's 409),
    without the server log; every other caller still gets the generic message."""
    client, admin_key, classify_key = _failed_app_with_keys(tmp_path)
    try:
        for headers in ({"X-API-Key": admin_key}, {"Authorization": f"Bearer {admin_key}"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 503 and r.headers["Retry-After"] == "30"
            assert r.json()["error"].startswith("The model failed to load: ")
            assert "secret-folder" in r.json()["error"]
        for headers in ({}, {"X-API-Key": classify_key}, {"X-API-Key": "cs_not-a-key"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 503
            assert r.json()["error"] == LOAD_FAILED_GENERIC
    finally:
        client.__exit__(None, None, None)
