"""A model.json wrongly declaring ``"outputs_probabilities": true`` is refused at load: on a
reload the model already served keeps serving, and a server started on it is not ready."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient
from helpers import jpeg, make_settings, runtime_of, wait_ready

from capsight.api.app import create_app
from capsight.inference.metadata import METADATA_FILE
from capsight.store.services import Services
from model_factory import build_colour_model


def _declare_probabilities(folder: Path) -> None:
    data = json.loads((folder / METADATA_FILE).read_text())
    data["outputs_probabilities"] = True
    (folder / METADATA_FILE).write_text(json.dumps(data))


def test_a_reload_onto_logits_declared_as_probabilities_keeps_the_served_model(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "served-model"
    shutil.copytree(colour_model_dir, folder)
    with TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services())) as client:
        wait_ready(client)
        build_colour_model(folder, version="test-2")
        _declare_probabilities(folder)
        r = client.post("/v1/models/reload")
        assert r.status_code == 409, r.text
        message = r.json()["error"]
        assert "outputs_probabilities" in message and "still serving bottle-status test-1" in message
        answer = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model"]["version"] == "test-1"
        assert all(0.0 <= p <= 1.0 for p in body["probabilities"].values()), body


def test_a_server_started_on_logits_declared_as_probabilities_says_why_it_is_not_ready(
    tmp_path: Path,
) -> None:
    folder = build_colour_model(tmp_path / "model")
    _declare_probabilities(folder)
    with TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services())) as client:
        runtime = runtime_of(client)
        deadline = time.monotonic() + 10
        while runtime.load_error is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the load runs in the background: nothing to wait on but its outcome
        r = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
        assert r.status_code == 503, r.text
        assert "outputs_probabilities" in r.text
