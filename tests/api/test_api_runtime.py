"""ServingRuntime and ClassificationService without HTTP: the path batch jobs reuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.fakes import DictCache, ListRecorder
from api.helpers import jpeg, make_settings
from capsight.api.results import ClassificationResult, RequestContext
from capsight.api.runtime import ServingRuntime
from capsight.errors import CapsightError, EmptyFile, InvalidImage, ModelNotReady
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_runtime_classifies_outside_an_app(tmp_path: Path, onnx_classifier: OnnxClassifier) -> None:
    recorder = ListRecorder()
    services = Services(cache=DictCache(), recorder=recorder)
    settings = make_settings(onnx_classifier.model_dir, tmp_path)
    ctx = RequestContext(request_id="job-1", endpoint="job:1", client_id="batch")

    async def scenario() -> tuple[ClassificationResult, list[ClassificationResult | CapsightError]]:
        async with ServingRuntime(settings, services, classifier=onnx_classifier) as runtime:
            service = runtime.service()
            single = await service.classify(jpeg("opened"), ctx)
            many = await service.classify_many([jpeg("closed"), b"", b"nope", jpeg("opened")], ctx)
            return single, many

    single, many = asyncio.run(scenario())
    assert single.prediction.label == "opened" and not single.cached
    assert isinstance(many[0], ClassificationResult) and many[0].prediction.label == "closed"
    assert isinstance(many[1], EmptyFile)
    assert isinstance(many[2], InvalidImage)
    assert isinstance(many[3], ClassificationResult) and many[3].cached  # same bytes as `single`
    assert sorted(r.item_index for r, _ in recorder.records) == [0, 0, 1, 2, 3]
    assert {r.endpoint for r, _ in recorder.records} == {"job:1"}


def test_runtime_is_not_ready_before_start(tmp_path: Path, onnx_classifier: OnnxClassifier) -> None:
    runtime = ServingRuntime(make_settings(onnx_classifier.model_dir, tmp_path), Services())
    assert runtime.ready is False
    with pytest.raises(ModelNotReady):
        runtime.service()


def test_wait_ready_reports_a_load_failure(tmp_path: Path) -> None:
    runtime = ServingRuntime(make_settings(tmp_path / "missing", tmp_path), Services())

    async def scenario() -> None:
        try:
            await runtime.wait_ready(timeout=10)
        finally:
            await runtime.stop()

    with pytest.raises(ModelNotReady, match="failed to load"):
        asyncio.run(scenario())
