"""Under load: concurrent requests are batched and each gets ITS answer; a full queue answers 503."""

from __future__ import annotations

import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

from api.helpers import AppFactory, GatedClassifier, SlowClassifier, jpeg, make_settings, runtime_of
from capsight.api.app import create_app
from capsight.api.runtime import ServingRuntime
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_concurrent_requests_are_batched_and_answered_correctly(
    tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    model = SlowClassifier(onnx_classifier, seconds=0.02)  # long enough for a queue to form behind it
    settings = make_settings(onnx_classifier.model_dir, tmp_path, batch_max_size=8, warmup=False)
    app = create_app(settings, classifier=model, services=Services())
    rng = random.Random(11)
    labels = [rng.choice(["background", "closed", "opened"]) for _ in range(48)]
    # Distinct bytes for each request: copies of one image would share one model call (coalesce).
    images = [jpeg(label, (64 + i, 48)) for i, label in enumerate(labels)]

    async def scenario() -> list[tuple[str, str, str]]:
        async with app.router.lifespan_context(app):
            await app.state.runtime.wait_ready(timeout=10)
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:

                async def one(i: int, label: str) -> tuple[str, str, str]:
                    r = await client.post(
                        "/v1/classify",
                        files={"file": (f"{i}.jpg", images[i], "image/jpeg")},
                        headers={"X-Request-ID": f"req-{i}"},
                    )
                    assert r.status_code == 200, r.text
                    return label, r.json()["label"], r.json()["request_id"]

                return await asyncio.gather(*(one(i, label) for i, label in enumerate(labels)))

    answers = asyncio.run(scenario())
    assert [sent for sent, _, _ in answers] == [got for _, got, _ in answers]
    assert [rid for _, _, rid in answers] == [f"req-{i}" for i in range(len(labels))]
    runtime: ServingRuntime = app.state.runtime
    assert runtime.batcher is not None
    stats = runtime.batcher.stats()
    assert stats.items == len(labels)
    assert stats.largest_batch > 1  # batches really formed
    assert stats.largest_batch <= 8
    assert stats.batches < len(labels)
    assert max(model.calls) == stats.largest_batch


def test_full_queue_answers_503_at_once(make_client: AppFactory, onnx_classifier: OnnxClassifier) -> None:
    model = GatedClassifier(onnx_classifier)
    client = make_client(classifier=model, queue_max=1, warmup=False)
    batcher = runtime_of(client).batcher
    assert batcher is not None
    image = jpeg("closed")

    def post(data: bytes = image) -> tuple[int, str]:
        r = client.post("/classify", files={"file": ("a.jpg", data, "image/jpeg")})
        return r.status_code, r.text

    with ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(post)
        assert model.entered.wait(timeout=10)  # first request is inside the model call
        # Other bytes: a copy of the image in the model call would wait for that call (single
        # flight, api/coalesce.py) without taking a place in the queue.
        queued = pool.submit(post, jpeg("opened"))
        deadline = time.monotonic() + 10
        while batcher.depth < 1 and time.monotonic() < deadline:
            time.sleep(0.002)
        assert batcher.depth == 1  # second request waits in the queue; the queue is now full
        started = time.monotonic()
        rejected = client.post("/classify", files={"file": ("a.jpg", image, "image/jpeg")})
        assert time.monotonic() - started < 2.0  # answered without waiting for the model
        assert rejected.status_code == 503
        assert rejected.json() == {"error": "Server is overloaded, retry shortly."}
        assert rejected.headers["retry-after"] == "1"
        model.gate.set()
        assert running.result(timeout=10)[0] == 200
        assert queued.result(timeout=10)[0] == 200
    assert batcher.depth == 0
    metrics = client.get("/metrics").text
    assert 'capsight_http_requests_total{endpoint="/classify",method="POST",status="503"} 1.0' in metrics
