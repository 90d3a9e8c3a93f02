"""A client that hangs up while its image waits for the model gives its queue place back.

uvicorn does not cancel a request's handler when its client disconnects: the image stayed queued,
held one of the queue_max places (an overloaded server answered 503 to live clients while its
queue was full of images whose clients had timed out and gone) and the model then scored it for
nobody. Needs real sockets: the in-process test client cannot hang up mid-request."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from helpers import WrappedClassifier, jpeg, make_settings

from capsight.inference.classifier import OnnxClassifier
from live_app import serve

pytestmark = pytest.mark.slow

BOUNDARY = "capsighthangup"


class GatedClassifier(WrappedClassifier):
    """Holds every model call until the test opens the gate, so later images stay queued."""

    def __init__(self, inner: OnnxClassifier) -> None:
        super().__init__(inner)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().predict(batch)


@pytest.fixture
def gated(onnx_classifier: OnnxClassifier) -> Iterator[GatedClassifier]:
    classifier = GatedClassifier(onnx_classifier)
    yield classifier
    classifier.gate.set()  # never leave the worker (and the server's shutdown) blocked


def _queue_depth(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(r"^capsight_inference_queue_depth (\S+)$", text, re.MULTILINE)
    assert match, "no queue depth gauge in /metrics"
    return float(match.group(1))


def _until_depth(url: str, depth: float, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _queue_depth(url) == depth:
            return True
        time.sleep(0.02)
    return False


def _request(url: str, path: str, parts: list[bytes]) -> bytes:
    field = "files" if path.endswith("/batch") else "file"
    body = (
        b"".join(
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{i}.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
            for i, data in enumerate(parts)
        )
        + f"--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    ).encode()
    return head + body


@pytest.mark.parametrize(
    ("path", "images"), [("/classify", 1), ("/v1/classify", 1), ("/v1/classify/batch", 2)]
)
def test_an_image_whose_client_hung_up_leaves_the_queue_and_is_not_scored(
    colour_model_dir: Path, tmp_path: Path, gated: GatedClassifier, path: str, images: int
) -> None:
    settings = make_settings(colour_model_dir, tmp_path, store_images=False, warmup=False)
    with serve(settings, classifier=gated) as url:
        first: dict[str, httpx.Response] = {}
        waiting = threading.Thread(
            target=lambda: first.update(
                answer=httpx.post(f"{url}/v1/classify", files={"file": ("a.jpg", jpeg("opened"))}, timeout=30)
            )
        )
        waiting.start()
        assert gated.entered.wait(10), "the first image never reached the model"
        parsed = urlsplit(url)
        with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
            # Distinct bytes: copies of one image would share one model call (api/coalesce.py).
            sock.sendall(_request(url, path, [jpeg("closed", (64 + i, 48)) for i in range(images)]))
            assert _until_depth(url, images), "the second request's images were never queued"
        # The client has hung up: its images must leave the queue while the model is still busy.
        assert _until_depth(url, 0), "the images of a client that hung up stayed queued"
        gated.gate.set()
        waiting.join(30)
        assert first["answer"].status_code == 200
        assert first["answer"].json()["label"] == "opened"
        assert gated.calls == [1]  # only the first request's image was scored
        # Counted as nginx counts a client that hung up: 499, once per image.
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        assert f'capsight_image_errors_total{{status="499"}} {float(images)}' in metrics
        # The server goes on serving.
        again = httpx.post(f"{url}/v1/classify", files={"file": ("c.jpg", jpeg("closed"))}, timeout=30)
        assert again.status_code == 200 and again.json()["label"] == "closed"
