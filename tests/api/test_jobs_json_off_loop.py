"""A big JSON job body (``{"urls": [...]}``, up to 16 MB) is checked off the event loop.

Why: ``POST /v1/jobs`` parsed the body, validated it and checked every URL against the allowlist on
the event loop. A 16 MB body of 100,000 URLs (``max_job_images``) held the loop for over a second on
a developer machine, and every other request (health checks, /classify) waited that long.

Real sockets, real uvicorn. The check is held at its start until a probe of a cheap route
(``/health/live``) has been answered: on the loop, the probe could not be answered until the check
ended, and it times out. Staged, not timed: how long the parse holds the GIL is measured by
``bench/bench_json_bodies.py``, not asserted here.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import AppFactory, make_settings

import capsight.api.job_requests as job_requests_module
from capsight.inference.classifier import OnnxClassifier
from capsight.jobs.allowlist import Allowlist
from live_app import serve

pytestmark = pytest.mark.slow

HOST = "images.example.com"
URLS = 100_000  # max_job_images, the default


def _body() -> bytes:
    """A job a real user sends: the most URLs a job may have, long ones (signed URLs are longer)."""
    urls = [f"https://{HOST}/photos/2026/11/{'p' * 100}/{i:07d}.jpg" for i in range(URLS)]
    return json.dumps({"urls": urls}).encode()


class _Posted:
    """A job request sent whole on a raw socket; ``answered`` is set once its answer starts."""

    def __init__(self, url: str, body: bytes) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        head = (
            f"POST /v1/jobs HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.answered = threading.Event()
        self.first = b""
        self.sock.sendall(head + body)  # returns once the server has read all but the socket buffers
        threading.Thread(target=self._wait_answer, daemon=True).start()

    def _wait_answer(self) -> None:
        try:
            self.first = self.sock.recv(64)
        except OSError:  # closed by the test after a failed assertion
            return
        self.answered.set()


class _HeldCheck:
    """The route's whole check of a JSON job body (budget scan, parse, validation, allowlist), held
    at its start until the test says a probe was answered meanwhile."""

    def __init__(self) -> None:
        self.real = job_requests_module._checked_json_job
        self.started = threading.Event()
        self.probed = threading.Event()

    def __call__(self, *args: Any) -> Any:
        self.started.set()
        assert self.probed.wait(30), "the test never let the check go on"
        return self.real(*args)


def test_health_answers_while_a_16_mb_json_job_is_checked(
    colour_model_dir: Path, tmp_path: Path, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _body()
    assert len(body) > 15_000_000
    held = _HeldCheck()
    monkeypatch.setattr(job_requests_module, "_checked_json_job", held)
    settings = make_settings(
        colour_model_dir, tmp_path / "data", job_workers=0, job_url_allowlist=[HOST], request_log=False
    )
    with serve(settings, onnx_classifier) as url, httpx.Client(base_url=url, timeout=10) as probe:
        assert probe.get("/health/live").status_code == 200  # connection open and warm
        posted = _Posted(url, body)
        try:
            assert held.started.wait(30), "the job body never reached its check"
            # Before: the check ran on the event loop, which could answer nothing until it ended
            # (the probe timed out here).
            assert probe.get("/health/live").status_code == 200
            held.probed.set()
            assert posted.answered.wait(60)
            assert posted.first.startswith(b"HTTP/1.1 202"), posted.first
        finally:
            held.probed.set()
            posted.sock.close()


def test_a_60_kb_job_body_is_checked_off_the_loop(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies up to 64 KiB stayed on the event loop: 3,900 short URLs fit, 23 ms of checks."""
    on_loop: list[bool] = []
    real = Allowlist.refusal

    def refusal(self: Allowlist, url: str) -> str | None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # no loop runs in this thread
            on_loop.append(False)
        return real(self, url)

    monkeypatch.setattr(Allowlist, "refusal", refusal)
    client = make_client(store=True, job_workers=0, job_url_allowlist=[HOST])
    urls = [f"http://{HOST}/{i}" for i in range(1800)]
    body = json.dumps({"urls": urls}).encode()
    assert 40_000 < len(body) < 64 * 1024
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    assert len(on_loop) == len(urls) and not any(on_loop)
