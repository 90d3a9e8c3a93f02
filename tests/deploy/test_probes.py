"""The paths the deployment files probe and scrape are served by the real app, without credentials.

Kubernetes probes, Docker healthchecks and Prometheus send no API key; with auth enabled (as the
ConfigMap sets it) they must still get 200, or pods never become ready and scrapes fail.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import DEPLOY, DOCKERFILE
from fastapi.testclient import TestClient

from capsight.api.app import create_app
from capsight.settings import Settings


def _probed_paths(k8s_by_kind: dict[str, dict[str, Any]], compose: dict[str, Any]) -> set[str]:
    container = k8s_by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    paths = {container[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
    paths.add(k8s_by_kind["Deployment"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"])
    urls = DOCKERFILE.read_text() + " ".join(compose["services"]["api"]["healthcheck"]["test"])
    paths.update(re.findall(r"http://127\.0\.0\.1:8000(/[\w/]+)", urls))
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    paths.update(job.get("metrics_path", "/metrics") for job in scrape["scrape_configs"])
    return paths


@pytest.fixture()
def client(colour_model_dir: Path, tmp_path: Path) -> Any:
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path,
        auth_enabled=True,
        jwt_secret="x" * 32,
        intra_op_threads=1,
    )
    with TestClient(create_app(settings)) as test_client:
        deadline = time.monotonic() + 20
        while test_client.get("/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "model never became ready"
            time.sleep(0.05)
        yield test_client


def test_probe_and_scrape_paths_answer_without_credentials(
    client: TestClient, k8s_by_kind: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    paths = _probed_paths(k8s_by_kind, compose)
    assert {"/health/live", "/health/ready", "/metrics"} <= paths
    for path in sorted(paths):
        assert client.get(path).status_code == 200, path


def test_auth_is_really_on(client: TestClient) -> None:
    # Guards the test above: the same app refuses an unauthenticated classification.
    response = client.post("/v1/classify", files={"file": ("a.png", b"not an image", "image/png")})
    assert response.status_code == 401
