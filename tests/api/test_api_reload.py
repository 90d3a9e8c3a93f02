"""Hot reload of the served model (``POST /v1/models/reload``, SIGHUP): after ``capsight promote``
the new folder is served without a restart, a folder that does not load changes nothing, and a
request in flight finishes on the model it started with."""

from __future__ import annotations

import asyncio
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, GatedClassifier, jpeg, make_settings, runtime_of, wait_ready

from capsight.api.app import create_app
from capsight.api.runtime import ServingRuntime
from capsight.errors import ModelNotReady
from capsight.inference.classifier import Classifier, OnnxClassifier
from capsight.store.cache import LRUCache
from capsight.store.services import Services
from live_app import serve_process
from model_factory import build_colour_model

BLUE_VOTES_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


def _served_copy(colour_model_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "served-model"
    shutil.copytree(colour_model_dir, folder)
    return folder


def _label_of_blue(client: TestClient) -> tuple[str, str]:
    r = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
    assert r.status_code == 200, r.text
    return r.json()["label"], r.json()["model"]["version"]


ClientFor = Callable[..., TestClient]


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[ClientFor]:
    clients: list[TestClient] = []

    def build(
        model_dir: Path,
        classifier: Classifier | None = None,
        services: Services | None = None,
        **overrides: object,
    ) -> TestClient:
        settings = make_settings(model_dir, tmp_path / "var", **overrides)
        client = TestClient(create_app(settings, classifier=classifier, services=services or Services()))
        client.__enter__()
        clients.append(client)
        wait_ready(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def test_a_promoted_folder_is_served_after_a_reload(
    colour_model_dir: Path, tmp_path: Path, client_for: ClientFor
) -> None:
    folder = _served_copy(colour_model_dir, tmp_path)
    client = client_for(folder)
    assert _label_of_blue(client) == ("opened", "test-1")
    build_colour_model(folder, version="test-2", weight=BLUE_VOTES_CLOSED)  # what promote leaves there
    assert _label_of_blue(client) == ("opened", "test-1")  # nothing changes until asked
    r = client.post("/v1/models/reload")
    assert r.status_code == 200
    assert r.json() == {
        "previous": {"name": "bottle-status", "version": "test-1"},
        "model": {"name": "bottle-status", "version": "test-2"},
        "changed": True,
    }
    assert _label_of_blue(client) == ("closed", "test-2")
    assert client.get("/v1/models").json()["models"][0]["version"] == "test-2"
    again = client.post("/v1/models/reload").json()
    assert again["changed"] is False


def test_a_retrained_model_that_kept_its_version_is_served_and_reported_changed(
    colour_model_dir: Path, tmp_path: Path, client_for: ClientFor
) -> None:
    """Teams hand-write versions and forget to bump them. Before, the reload said "changed": false
    and, with the in-process result cache on, a photo seen before kept the old model's answer."""
    folder = _served_copy(colour_model_dir, tmp_path)
    client = client_for(folder, services=Services(cache=LRUCache(max_entries=100)))
    assert _label_of_blue(client) == ("opened", "test-1")
    build_colour_model(folder, version="test-1", weight=BLUE_VOTES_CLOSED)
    r = client.post("/v1/models/reload")
    assert r.status_code == 200 and r.json()["changed"] is True
    assert _label_of_blue(client) == ("closed", "test-1")
    assert client.post("/v1/models/reload").json()["changed"] is False


def test_a_folder_that_does_not_load_changes_nothing(
    colour_model_dir: Path, tmp_path: Path, client_for: ClientFor
) -> None:
    folder = _served_copy(colour_model_dir, tmp_path)
    client = client_for(folder)
    (folder / "model.onnx").write_bytes(b"half a model")
    r = client.post("/v1/models/reload")
    assert r.status_code == 409
    message = r.json()["error"]
    assert (
        message.startswith(f"The model in {folder} failed to load (")
        and "still serving bottle-status test-1" in message
    )
    assert _label_of_blue(client) == ("opened", "test-1")
    assert client.get("/health/ready").status_code == 200


def test_a_request_in_flight_finishes_on_the_model_it_started_with(
    colour_model_dir: Path, tmp_path: Path, client_for: ClientFor, onnx_classifier: OnnxClassifier
) -> None:
    folder = _served_copy(colour_model_dir, tmp_path)
    gated = GatedClassifier(onnx_classifier)
    gated.gate.set()  # let the warm-up through
    client = client_for(folder, classifier=gated)
    gated.gate.clear()
    gated.entered.clear()
    answers: list[tuple[str, str]] = []
    thread = threading.Thread(target=lambda: answers.append(_label_of_blue(client)), daemon=True)
    thread.start()
    assert gated.entered.wait(10), "the request never reached the model"
    build_colour_model(folder, version="test-2", weight=BLUE_VOTES_CLOSED)
    assert client.post("/v1/models/reload").json()["model"]["version"] == "test-2"
    assert _label_of_blue(client) == ("closed", "test-2")  # new requests: the new model
    gated.gate.set()
    thread.join(10)
    assert answers == [("opened", "test-1")]  # the one in flight: the model it started on


def test_reloading_needs_the_admin_scope(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, classify_key = keys.create_key("app")
    _, admin_key = keys.create_key("ops", "admin")
    assert client.post("/v1/models/reload").status_code == 401
    assert client.post("/v1/models/reload", headers={"X-API-Key": classify_key}).status_code == 403
    r = client.post("/v1/models/reload", headers={"X-API-Key": admin_key})
    assert r.status_code == 200 and r.json()["changed"] is False


@pytest.mark.slow
def test_sighup_reloads_a_running_server(colour_model_dir: Path, tmp_path: Path) -> None:
    folder = _served_copy(colour_model_dir, tmp_path)
    with serve_process(folder, tmp_path / "var") as server:

        def version() -> str | None:
            try:
                r = httpx.get(f"{server.url}/v1/models", timeout=2)
            except httpx.TransportError:
                return None
            return str(r.json()["models"][0]["version"]) if r.status_code == 200 else None

        def wait_for(expected: str) -> None:
            deadline = time.monotonic() + 30
            while version() != expected:
                assert server.proc.poll() is None, "the server died"
                assert time.monotonic() < deadline, f"never served {expected}"
                time.sleep(0.05)

        wait_for("test-1")
        build_colour_model(folder, version="test-2", weight=BLUE_VOTES_CLOSED)
        server.proc.send_signal(signal.SIGHUP)
        wait_for("test-2")
        r = httpx.post(
            f"{server.url}/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")}, timeout=5
        )
        assert r.status_code == 200, r.text
        assert r.json()["bottle_status"] == "closed"
    assert "model reloaded: bottle-status test-1 -> bottle-status test-2" in server.output[0]


def test_stopping_after_a_reload_stops_the_replaced_batcher_too(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """The replaced batcher waits out a grace period before it stops; shutting down within it
    cancelled that wait and left the batcher's thread running with its queue open."""
    folder = _served_copy(colour_model_dir, tmp_path)

    async def scenario() -> tuple[bool, bool]:
        runtime = ServingRuntime(make_settings(folder, tmp_path / "var"), Services())
        await runtime.wait_ready()
        replaced = runtime.batcher
        assert replaced is not None
        build_colour_model(folder, version="test-2")
        await runtime.reload()
        await runtime.stop()
        thread = replaced._thread
        return replaced.running, thread is not None and thread.is_alive()

    assert asyncio.run(scenario()) == (False, False)


def test_a_reload_that_finishes_during_shutdown_serves_nothing(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """A reload still loading when the server stops must not switch a stopped runtime back on
    (a live batcher thread and a ready service after shutdown)."""
    folder = _served_copy(colour_model_dir, tmp_path)

    async def scenario() -> tuple[BaseException | tuple[object, object], bool, bool]:
        runtime = ServingRuntime(make_settings(folder, tmp_path / "var"), Services())
        await runtime.wait_ready()
        build_colour_model(folder, version="test-2")
        reload = asyncio.get_running_loop().create_task(runtime.reload())
        await asyncio.sleep(0)  # the reload is loading the folder in a thread
        await runtime.stop()
        (outcome,) = await asyncio.gather(reload, return_exceptions=True)
        batcher = runtime.batcher
        return outcome, runtime.ready, batcher is not None and batcher.running

    outcome, ready, batcher_running = asyncio.run(scenario())
    assert isinstance(outcome, ModelNotReady) and "shutting down" in outcome.message
    assert (ready, batcher_running) == (False, False)


def test_a_reload_serves_a_folder_fixed_after_the_first_load_failed(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """A server started before its model was in place (or on a broken one) must not need a restart
    once `capsight promote` puts a model there: the reload is what loads it."""
    folder = tmp_path / "served-model"
    folder.mkdir()
    settings = make_settings(folder, tmp_path / "var")
    with TestClient(create_app(settings, services=Services())) as client:
        deadline = time.monotonic() + 10
        while runtime_of(client).load_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/health/ready").status_code == 503
        shutil.copytree(colour_model_dir, folder, dirs_exist_ok=True)
        r = client.post("/v1/models/reload")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "previous": None,
            "model": {"name": "bottle-status", "version": "test-1"},
            "changed": True,
        }
        assert client.get("/health/ready").status_code == 200
        assert _label_of_blue(client) == ("opened", "test-1")
