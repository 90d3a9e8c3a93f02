"""Admission places (the batcher's queue_max) are given back whatever happens to a request."""

from __future__ import annotations

import asyncio
from pathlib import Path

from api.helpers import AppFactory, jpeg, make_settings
from capsight.api.results import RequestContext
from capsight.api.runtime import ServingRuntime
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_a_multi_image_request_cancelled_before_its_images_started_frees_their_places(
    tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    """classify_many admits all its images, then starts one task per image, and each task gives its
    place back when it ends. A request cancelled (client gone, server stopping) before those tasks
    first ran never ran their cleanup: the places stayed taken for good, the queue shrank by the
    request's size each time, and with places held by nobody every later batch waited out
    batch_max_wait_ms for images that would never come."""
    settings = make_settings(onnx_classifier.model_dir, tmp_path, queue_max=8)
    ctx = RequestContext(request_id="r", endpoint="/v1/classify/batch", client_id="c")

    async def scenario() -> tuple[int, int]:
        async with ServingRuntime(settings, Services(), classifier=onnx_classifier) as runtime:
            service = runtime.service()
            request = asyncio.ensure_future(service.classify_many([jpeg("opened")] * 5, ctx))
            await asyncio.sleep(0)  # one step: the request is admitted and awaits its image tasks
            admitted = service.batcher.depth
            request.cancel()
            await asyncio.gather(request, return_exceptions=True)
            return admitted, service.batcher.depth

    admitted, left = asyncio.run(scenario())
    assert admitted == 5
    assert left == 0


def test_a_request_with_more_images_than_the_queue_holds_is_refused_for_good_not_retried(
    make_client: AppFactory,
) -> None:
    """queue_max below max_batch_images (a small replica): a request with more images than the
    queue holds was answered 503 'retry shortly' with Retry-After even on an idle server, so a
    client that honours Retry-After retried forever."""
    client = make_client(queue_max=4, max_batch_images=8)
    files = [("files", (f"{i}.jpg", jpeg("opened"), "image/jpeg")) for i in range(6)]
    r = client.post("/v1/classify/batch", files=files)
    assert r.status_code == 400, r.text
    assert "Retry-After" not in r.headers
    assert "at most 4 images" in r.json()["error"]
    fits = client.post("/v1/classify/batch", files=files[:4])
    assert fits.status_code == 200 and [x["label"] for x in fits.json()["results"]] == ["opened"] * 4
