"""The real app served by uvicorn on a loopback port, for tests that need real sockets: a browser,
a client that sends its body slowly, a connection that hangs up."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from capsight.inference.classifier import Classifier
from capsight.settings import Settings
from servers import free_port


@contextlib.contextmanager
def serve(settings: Settings, classifier: Classifier | None = None) -> Iterator[str]:
    """``create_app(settings)`` under uvicorn in a background thread; yields its base URL once ready."""
    from capsight.api.app import create_app

    port = free_port()
    app = create_app(settings=settings, classifier=classifier)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-live-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the app did not become ready within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
