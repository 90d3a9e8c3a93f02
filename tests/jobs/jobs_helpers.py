"""Helpers for the job tests: zips, images the colour model recognises, real loopback HTTP servers
(an image host and a webhook receiver), slow classifiers and polling."""

from __future__ import annotations

import io
import threading
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from capsight.inference import OnnxClassifier
from capsight.inference.metadata import ModelMetadata
from model_factory import LABEL_COLOURS, solid_image_bytes

FINISHED = {"succeeded", "failed", "cancelled"}
WEBHOOK_SECRET = "webhook-secret-for-tests-" + "x" * 16
JobApp = Callable[..., TestClient]  # the make_app fixture


def image(label: str, fmt: str = "PNG", size: tuple[int, int] = (16, 12)) -> bytes:
    """An image the colour model classifies as ``label``."""
    return solid_image_bytes(LABEL_COLOURS[label], fmt, size)


def truncated_jpeg() -> bytes:
    data = solid_image_bytes((120, 40, 200), "JPEG", (64, 64))
    return data[: len(data) // 2]


def make_zip(members: Iterable[tuple[str, bytes]], *, symlinks: Iterable[tuple[str, str]] = ()) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # crafted zips repeat names on purpose
        for name, data in members:
            if name.endswith("/"):
                zf.writestr(zipfile.ZipInfo(name), b"")
            else:
                zf.writestr(name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16) | 0
            zf.writestr(info, target)
    return buf.getvalue()


def labelled_zip(labels: Iterable[str], prefix: str = "photos/") -> tuple[bytes, dict[str, str]]:
    """A zip of one image per entry of ``labels`` and the expected label of each member name."""
    expected = {f"{prefix}{i:04d}-{label}.png": label for i, label in enumerate(labels)}
    return make_zip((name, image(label)) for name, label in expected.items()), expected


def post_zip(client: TestClient, data: bytes, headers: dict[str, str] | None = None, **fields: str) -> Any:
    return client.post(
        "/v1/jobs",
        files={"file": ("images.zip", data, "application/zip")},
        data=fields or None,
        headers=headers,
    )


def wait_for_job(
    client: TestClient,
    job_id: str,
    states: set[str] | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
    until: Any = None,
) -> dict[str, Any]:
    """Poll until the job reaches one of ``states`` (default: finished) or ``until(doc)`` holds."""
    wanted = states or FINISHED
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        doc = response.json()
        if (until is not None and until(doc)) or (until is None and doc["state"] in wanted):
            return doc
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never got there; last seen: {doc}")


def wait_gone(*paths: Path, timeout: float = 10.0) -> None:
    """Until the paths are gone: a job's state says succeeded just before its inputs are discarded."""
    deadline = time.monotonic() + timeout
    while any(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(p.exists() for p in paths), [p for p in paths if p.exists()]


def close(client: TestClient) -> None:
    """Shut the app down (lifespan exit: running jobs go back to the queue); idempotent."""
    if getattr(client, "_closed_by_test", False):
        return
    client._closed_by_test = True  # type: ignore[attr-defined]
    client.__exit__(None, None, None)


class SlowClassifier:
    """The real colour model, each call delayed, counting the images it saw."""

    def __init__(self, inner: OnnxClassifier, seconds: float) -> None:
        self.inner = inner
        self.metadata: ModelMetadata = inner.metadata
        self.seconds = seconds
        self.images = 0
        self._lock = threading.Lock()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        with self._lock:
            self.images += len(batch)
        return self.inner.predict(batch)


# ------------------------------------------------------------------------------- loopback servers
@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Server:
    """A real ThreadingHTTPServer on 127.0.0.1 in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class _ImageHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: ImageServer = self.server.owner  # type: ignore[attr-defined]
        with owner.lock:
            owner.hits[self.path] += 1
        if owner.delay:
            time.sleep(owner.delay)
        route = owner.routes.get(self.path, Route(404, b"not found"))
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)


class ImageServer(_Server):
    def __init__(self, delay: float = 0.0) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.delay = delay
        super().__init__(_ImageHandler)

    def add(self, path: str, body: bytes, status: int = 200, **headers: str) -> str:
        self.routes[path] = Route(status, body, dict(headers))
        return self.base + path


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = ""  # as the request line sent it (percent-encoded)


class _HookHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        owner: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with owner.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            owner.received.append(Received(headers, body, self.path))
            status = owner.statuses.pop(0) if owner.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        owner.arrived.set()


class WebhookReceiver(_Server):
    """Answers each POST with the next status of ``statuses`` (200 once they run out)."""

    def __init__(self, statuses: list[int] | None = None, port: int = 0) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        super().__init__(_HookHandler, port)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook calls, got {len(self.received)}")


def serve(server: _Server) -> Iterator[Any]:
    try:
        yield server
    finally:
        server.close()
