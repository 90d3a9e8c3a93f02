"""``POST /v1/models/reload`` (admin; anyone with auth off, the default) called again and again on a
folder nothing was promoted into. Each call swapped in a fresh copy of the same model and kept the
replaced one, with its batcher thread, for the body timeout (330 s by default): 60 calls in 4 s took
a server on the bundled model from 152 to 524 MB, enough to OOM-kill a 512Mi pod."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from fastapi.testclient import TestClient
from helpers import make_settings, runtime_of, wait_ready

from capsight.api.app import create_app
from capsight.store.services import Services
from model_factory import build_colour_model


def _batcher_threads() -> int:
    return sum(thread.name == "capsight-batcher" for thread in threading.enumerate())


def test_reloading_an_unchanged_folder_keeps_the_served_model(colour_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "served"
    shutil.copytree(colour_model_dir, folder)
    app = create_app(make_settings(folder, tmp_path / "var"), services=Services())
    with TestClient(app) as client:
        wait_ready(client)
        before, served = _batcher_threads(), runtime_of(client).batcher
        for _ in range(10):
            r = client.post("/v1/models/reload")
            assert r.status_code == 200 and r.json()["changed"] is False
        assert runtime_of(client).batcher is served
        assert _batcher_threads() == before
        build_colour_model(folder, version="test-2")  # a promotion is still served at once
        r = client.post("/v1/models/reload")
        assert r.status_code == 200 and r.json()["changed"] is True
        assert r.json()["model"]["version"] == "test-2"
        assert runtime_of(client).batcher is not served
