"""A full inference queue answers 503 with Retry-After at once, on every classify endpoint: the
capacity check comes before the upload is read, so the refusal never waits for the model."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.helpers import AppFactory, GatedClassifier, jpeg, runtime_of
from capsight.inference import OnnxClassifier

IMAGE = jpeg("closed")
OTHER = jpeg("opened")


def _legacy(client: Any) -> Any:
    return client.post("/classify", files={"file": ("a.jpg", IMAGE, "image/jpeg")})


def _v1(client: Any) -> Any:
    return client.post("/v1/classify", files={"file": ("a.jpg", IMAGE, "image/jpeg")})


def _batch(client: Any) -> Any:
    return client.post("/v1/classify/batch", files=[("files", ("a.jpg", IMAGE, "image/jpeg"))])


def _v2(client: Any) -> Any:
    body = {
        "inputs": [
            {"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(IMAGE).decode()]}
        ]
    }
    return client.post("/v2/models/bottle-status/infer", json=body)


def test_every_classify_endpoint_answers_503_when_the_queue_is_full(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    model = GatedClassifier(onnx_classifier)
    client = make_client(classifier=model, queue_max=1, warmup=False)
    batcher = runtime_of(client).batcher
    assert batcher is not None
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(_legacy, client)
        assert model.entered.wait(timeout=10)  # one request inside the model call
        # Other bytes: a copy of the image in the model call would wait for that call (single
        # flight, api/coalesce.py) without taking a place in the queue.
        queued = pool.submit(lambda: client.post("/classify", files={"file": ("b.jpg", OTHER, "image/jpeg")}))
        deadline = time.monotonic() + 10
        while batcher.depth < 1 and time.monotonic() < deadline:
            time.sleep(0.002)
        assert batcher.depth == 1  # and one waiting: the queue is full
        for send in (_legacy, _v1, _batch, _v2):
            r = send(client)
            assert r.status_code == 503, send.__name__
            assert r.json() == {"error": "Server is overloaded, retry shortly."}
            assert r.headers["retry-after"] == "1"
        model.gate.set()
        assert running.result(timeout=10).status_code == 200
        assert queued.result(timeout=10).status_code == 200
    assert _v1(client).status_code == 200  # room again
