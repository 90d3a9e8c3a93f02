"""The model a reload replaces is released once the requests that took it are done, not after a
fixed grace period: its ONNX Runtime session (the model's weights and buffers) was kept for the body
timeout plus 30 s (330 s by default), so each promotion doubled the server's model memory for
five and a half minutes, and a second promotion within them tripled it."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from fastapi.testclient import TestClient
from helpers import jpeg, make_settings, runtime_of, wait_ready

from capsight.api.app import create_app
from capsight.api.runtime import ServingRuntime
from capsight.store.services import Services
from model_factory import build_colour_model


def test_the_replaced_model_is_released_when_its_last_request_lets_go(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "model")

    async def scenario() -> None:
        runtime = ServingRuntime(make_settings(folder, tmp_path / "var"), Services())
        try:
            await runtime.wait_ready(timeout=30)
            old_model = weakref.ref(runtime._classifier)
            held = runtime.service()  # a request in flight: it took the service, reads its body
            build_colour_model(folder, version="test-2")
            await runtime.reload()
            assert runtime.service() is not held
            retiring = list(runtime._retiring)
            assert retiring, "the replaced batcher is not being retired"
            # The request in flight still finishes on the model it started with.
            assert held.batcher.running and old_model() is not None
            done, _ = await asyncio.wait(retiring, timeout=0.5)
            assert not done, "the replaced model was retired while a request still held it"
            del held  # the request is answered
            done, pending = await asyncio.wait(retiring, timeout=10)
            assert not pending, "the replaced model is kept after its last request ended"
            assert old_model() is None, "something still holds the replaced ONNX Runtime session"
            assert runtime._replaced == []
        finally:
            await runtime.stop()

    asyncio.run(scenario())


def test_with_no_request_in_flight_the_replaced_model_is_released_at_once(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "model")

    async def scenario() -> None:
        runtime = ServingRuntime(make_settings(folder, tmp_path / "var"), Services())
        try:
            await runtime.wait_ready(timeout=30)
            old_model = weakref.ref(runtime._classifier)
            build_colour_model(folder, version="test-2")
            await runtime.reload()
            retiring = list(runtime._retiring)
            _, pending = await asyncio.wait(retiring, timeout=10)
            assert not pending and old_model() is None
        finally:
            await runtime.stop()

    asyncio.run(scenario())


def test_after_requests_over_http_a_reload_releases_the_replaced_model(tmp_path: Path) -> None:
    """The same through the app: answered requests (single, batch, a refused upload) and the admin
    route must not leave anything holding the replaced model."""
    folder = build_colour_model(tmp_path / "model")
    app = create_app(make_settings(folder, tmp_path / "var"), services=Services())
    with TestClient(app) as client:
        wait_ready(client)
        runtime = runtime_of(client)
        old_model = weakref.ref(runtime._classifier)
        assert client.post("/v1/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")}).is_success
        files = [
            ("files", ("a.jpg", jpeg("closed"), "image/jpeg")),
            ("files", ("b.txt", b"no", "text/plain")),
        ]
        assert client.post("/v1/classify/batch", files=files).is_success
        assert (
            client.post("/classify", files={"file": ("c.jpg", b"not an image", "image/jpeg")}).status_code
            == 400
        )
        build_colour_model(folder, version="test-2")
        assert client.post("/v1/models/reload").json()["changed"] is True
        retiring = list(runtime._retiring)  # empty once the replaced batcher has been stopped
        assert client.portal is not None

        async def retired() -> bool:
            if not retiring:
                return True
            _, pending = await asyncio.wait(retiring, timeout=10)
            return not pending

        assert client.portal.call(retired), "the replaced model is kept after its requests ended"
        assert old_model() is None, "something still holds the replaced ONNX Runtime session"
