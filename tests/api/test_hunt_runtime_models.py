"""Models that load but cannot answer as model.json says: the server must refuse them up front (at
startup or on reload) rather than become ready and answer every request with a 500."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from helpers import jpeg, make_settings, wait_ready
from onnx import helper, numpy_helper

from capsight.api.app import create_app
from capsight.errors import InferenceFailed, InvalidModel
from capsight.inference import OnnxClassifier
from capsight.inference.batch_worker import BATCH_REFUSALS_TO_STOP_BATCHING
from capsight.store.services import Services
from model_factory import build_colour_model, build_open_class_axis_model


def test_a_model_answering_more_scores_than_it_has_labels_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(InvalidModel, match=r"4 scores per image but model\.json lists 3 labels"):
        OnnxClassifier(build_open_class_axis_model(tmp_path / "four", 4), intra_op_threads=1)


@pytest.fixture
def served(colour_model_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, TestClient]]:
    folder = tmp_path / "served"
    shutil.copytree(colour_model_dir, folder)
    client = TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services()))
    client.__enter__()
    try:
        wait_ready(client)
        yield folder, client
    finally:
        client.__exit__(None, None, None)


def test_a_reload_to_a_model_with_the_wrong_number_of_scores_changes_nothing(
    served: tuple[Path, TestClient], tmp_path: Path
) -> None:
    """The reload said 200 and from then on every classification was a 500 'Internal error.'"""
    folder, client = served
    shutil.rmtree(folder)
    build_open_class_axis_model(folder, 4)
    r = client.post("/v1/models/reload")
    assert r.status_code == 409, r.text
    assert "4 scores per image but model.json lists 3 labels" in r.json()["error"]
    r = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
    assert r.status_code == 200 and r.json()["label"] == "opened", r.text


def _batch_of_one_inside_model(folder: Path) -> Path:
    """The colour model with ``x.view(1, -1)`` inside, as a forward() that hard-codes the batch
    exports even with a dynamic batch axis declared: one image per run works (so the warm-up
    passes), any larger batch fails inside ONNX Runtime."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    flatten = next(node for node in graph.node if node.op_type == "Flatten")
    graph.node.remove(flatten)
    graph.initializer.append(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "one_row"))
    graph.node.insert(1, helper.make_node("Reshape", ["pooled", "one_row"], ["flat"]))
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_concurrent_requests_to_a_model_that_only_runs_one_image_at_a_time_are_answered(
    tmp_path: Path,
) -> None:
    """The micro-batcher's batch failed as a whole, so every request that shared a batch got a 500;
    only a request that happened to run alone was answered."""
    folder = _batch_of_one_inside_model(tmp_path / "one-at-a-time")
    model = OnnxClassifier(folder, intra_op_threads=1)
    model.warmup(1)  # one image: fine, as at startup
    with pytest.raises(InferenceFailed):
        model.predict(np.zeros((2, 3, 32, 32), dtype=np.float32))
    client = TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services()))
    with client:
        wait_ready(client)
        files = [
            ("files", (f"{i}.jpg", jpeg(label), "image/jpeg"))
            for i, label in enumerate(["opened", "closed"] * 3)
        ]
        r = client.post("/v1/classify/batch", files=files)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x.get("label") for x in results] == ["opened", "closed"] * 3, results


def test_a_model_that_only_runs_one_image_at_a_time_is_found_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Once a batch failed and each of its images then ran fine alone, every later batch still went
    to the model whole first: each failed again, with an error and a traceback in the log per
    batch, and each image cost two model calls."""
    folder = _batch_of_one_inside_model(tmp_path / "one-at-a-time")
    client = TestClient(create_app(make_settings(folder, tmp_path / "var"), services=Services()))
    with client:
        wait_ready(client)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        for n in range(10):  # room for the 3 refusals even when some images are batched alone
            # Distinct bytes in every slot: copies of one image share one model call (api/coalesce.py),
            # so four copies would never make a batch of more than one.
            files = [
                ("files", (f"{i}.jpg", jpeg("opened", (64 + i, 48 + n)), "image/jpeg")) for i in range(4)
            ]
            r = client.post("/v1/classify/batch", files=files)
            assert r.status_code == 200 and all(x["label"] == "opened" for x in r.json()["results"])
        stats = runtime.batcher.stats()
    # Found out after BATCH_REFUSALS_TO_STOP_BATCHING batches in a row (not at once: see
    # tests/inference/test_hunt_inference_batcher.py), then never again: 10 requests of 4 images
    # would fail up to 10 batches otherwise.
    assert stats.failed_batches == BATCH_REFUSALS_TO_STOP_BATCHING
    errors = [rec for rec in caplog.records if rec.levelname == "ERROR" and "batch" in rec.getMessage()]
    assert len(errors) == BATCH_REFUSALS_TO_STOP_BATCHING
    assert any("one image at a time" in rec.getMessage() for rec in caplog.records)
