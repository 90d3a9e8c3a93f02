"""``capsight_model_info{model, version}``: which model version a server serves, in ``/metrics``.

Why: after ``capsight promote`` and a reload (``POST /v1/models/reload``, SIGHUP), nothing in
``/metrics`` changed: ``capsight_predictions_total`` counts by model name only and
``capsight_model_ready`` stayed 1, so a dashboard or an alert could not tell which replicas had
switched to the new version (or rolled back), and a replica that kept the old model looked the same.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import make_settings, wait_ready
from prometheus_client.parser import text_string_to_metric_families

from capsight.api.app import create_app
from capsight.store.services import Services
from model_factory import build_colour_model


def _model_info(client: TestClient) -> dict[tuple[str, str], float]:
    text = client.get("/metrics").text
    return {
        (s.labels["model"], s.labels["version"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "capsight_model_info"
        for s in family.samples
    }


@pytest.fixture
def served(colour_model_dir: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    folder = tmp_path / "served-model"
    shutil.copytree(colour_model_dir, folder)
    with TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services())) as client:
        wait_ready(client)
        yield client, folder


def test_metrics_say_which_version_is_served_before_and_after_a_reload(
    served: tuple[TestClient, Path],
) -> None:
    client, folder = served
    assert _model_info(client) == {("bottle-status", "test-1"): 1.0}
    build_colour_model(folder, version="test-2", weight=np.diag([4.0, 4.0, 4.0]))  # promoted
    assert client.post("/v1/models/reload").status_code == 200
    # The version served is 1; the one it replaced stays listed at 0 (a rollback sets it back to 1).
    assert _model_info(client) == {("bottle-status", "test-2"): 1.0, ("bottle-status", "test-1"): 0.0}
    build_colour_model(folder, version="test-1")  # rolled back
    assert client.post("/v1/models/reload").status_code == 200
    assert _model_info(client) == {("bottle-status", "test-1"): 1.0, ("bottle-status", "test-2"): 0.0}
