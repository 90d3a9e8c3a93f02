"""The real app served by uvicorn on a loopback port, for tests that need real sockets: a browser,
a client that sends its body slowly, a connection that hangs up."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class ServeProcess:
    """A ``capsight serve`` process: its URL, and everything it printed once it has stopped."""

    proc: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve_process(
    model_dir: Path,
    data_dir: Path,
    *,
    workers: int = 1,
    host: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[ServeProcess]:
    """``python -m capsight serve`` as a user runs it, on a free loopback port, with ``env`` added to
    its environment; stopped with SIGTERM on exit (killed if it does not stop within 15 s), its output
    kept in ``.output``."""
    port = free_port()
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **(env or {})}
    cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(port), "--model", str(model_dir)]
    cmd += ["--workers", str(workers)] + (["--host", host] if host else [])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = ServeProcess(proc=proc, url=f"http://127.0.0.1:{port}")
    try:
        yield server
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        server.output.append(output)
