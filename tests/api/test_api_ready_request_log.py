"""``/health/ready`` says how the request log is doing: a missing bucket shows there, with its name.

Why: readiness reported the model and nothing else, so a replica whose image store could not take a
single image (a mistyped bucket) looked as healthy as the others. It still answers 200 (classifying
needs none of the log's backends, and a shared bucket or database outage must not take every
replica out of the load balancer at once), with ``request_log`` saying ``degraded`` and why; and
``/metrics`` has it as ``capsight_request_log_degraded`` for alerts.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, metric_sample, runtime_of
from servers import S3Server

pytestmark = pytest.mark.s3


def _log_state(client: TestClient, headers: dict[str, str] | None = None, *, until: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        answer = client.get("/health/ready", headers=headers)
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()["request_log"]
        if state["status"] == until or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_a_missing_bucket_is_named_by_the_readiness_probe(
    make_client: AppFactory, s3_server: S3Server, s3_credentials: None
) -> None:
    client = make_client(
        store=True, storage_url="s3://capsight-missing/images", s3_endpoint_url=s3_server.endpoint_url
    )
    state = _log_state(client, until="degraded")
    assert state["status"] == "degraded", state
    assert "S3 bucket 'capsight-missing' does not exist" in state["error"]

    metrics = client.get("/metrics").text  # what an alert watches
    assert metric_sample(metrics, "capsight_request_log_degraded") == 1

    s3_server.create_bucket("capsight-missing")
    assert _log_state(client, until="ok") == {"status": "ok", "error": None, "spooled": 0}
    metrics = client.get("/metrics").text
    assert metric_sample(metrics, "capsight_request_log_degraded") == 0
    assert metric_sample(metrics, "capsight_request_log_spooled") == 0


def test_with_auth_on_only_an_admin_reads_the_cause(
    make_client: AppFactory, s3_server: S3Server, s3_credentials: None
) -> None:
    client = make_client(
        store=True,
        auth_enabled=True,
        storage_url="s3://capsight-hidden/images",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    state = _log_state(client, until="degraded")
    assert state["status"] == "degraded"
    assert "capsight-hidden" not in state["error"] and "server log" in state["error"]
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, admin = keys.create_key("ops", "admin")
    state = _log_state(client, {"X-API-Key": admin}, until="degraded")
    assert "S3 bucket 'capsight-hidden' does not exist" in state["error"]
