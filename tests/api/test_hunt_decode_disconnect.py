"""An upload whose client hung up while it waited for a decode thread is not decoded.

Measured on ``capsight serve`` (2 cores): eight clients that each sent a 12-megapixel PNG and hung
up 0.2 s later all got their 499 once their images reached the model, but every one of the eight
was decoded first (~0.2 s each, 1.5 s of decode-pool time for nobody), and a live client's PNG sent
just after waited 0.83 s instead of 0.27 s behind them. The model call was already skipped; the
decode, queued behind others, was not. Needs real sockets: the in-process test client cannot hang
up mid-request."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import jpeg, make_settings
from test_hunt_inference_disconnect import _request, _until_depth

import capsight.api.runtime as runtime_module
import capsight.api.service as service_module
from capsight.inference.classifier import OnnxClassifier
from live_app import serve

pytestmark = pytest.mark.slow


class GatedDecode:
    """Counts decodes; the first one waits for the test, so the decode thread stays busy."""

    def __init__(self) -> None:
        self.real = service_module.decode_image
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return self.real(*args, **kwargs)


@pytest.fixture
def gated_decode(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedDecode]:
    gated = GatedDecode()
    monkeypatch.setattr(service_module, "decode_image", gated)
    monkeypatch.setattr(runtime_module, "default_threads", lambda: 1)  # one decode thread per pool
    yield gated
    gated.gate.set()  # never leave the decode thread (and the server's shutdown) blocked


@pytest.mark.parametrize(("path", "images"), [("/v1/classify", 1), ("/v1/classify/batch", 2)])
def test_an_upload_whose_client_hung_up_before_its_decode_began_is_not_decoded(
    colour_model_dir: Path,
    tmp_path: Path,
    onnx_classifier: OnnxClassifier,
    gated_decode: GatedDecode,
    path: str,
    images: int,
) -> None:
    settings = make_settings(colour_model_dir, tmp_path, store_images=False, warmup=False)
    with serve(settings, classifier=onnx_classifier) as url:
        first: dict[str, httpx.Response] = {}
        waiting = threading.Thread(
            target=lambda: first.update(
                answer=httpx.post(f"{url}/v1/classify", files={"file": ("a.jpg", jpeg("opened"))}, timeout=30)
            )
        )
        waiting.start()
        assert gated_decode.entered.wait(10), "the first image never reached the decode thread"
        parsed = urlsplit(url)
        with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
            sock.sendall(_request(url, path, [jpeg("closed")] * images))
            # Admitted (its body read), its decode queued behind the first image's.
            assert _until_depth(url, 1 + images), "the second request's images were never admitted"
        time.sleep(0.5)  # the server sees the hang-up (its event loop is idle meanwhile)
        gated_decode.gate.set()
        waiting.join(30)
        assert first["answer"].status_code == 200 and first["answer"].json()["label"] == "opened"
        assert _until_depth(url, 0), "the images of a client that hung up stayed queued"
        metrics = httpx.get(f"{url}/metrics", timeout=5).text
        assert f'capsight_image_errors_total{{status="499"}} {float(images)}' in metrics
        assert gated_decode.calls == 1  # only the first request's image was decoded
        # The server goes on serving.
        again = httpx.post(f"{url}/v1/classify", files={"file": ("c.jpg", jpeg("closed"))}, timeout=30)
        assert again.status_code == 200 and again.json()["label"] == "closed"
        assert gated_decode.calls == 2
