"""A model that needs a second input besides the image (an export with a mask, a temperature or a
second image) is refused at load, naming the inputs: capsight feeds only the image, so it loaded
and, with the warm-up off (CAPSIGHT_WARMUP=false), answered every request with a 500."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from helpers import jpeg, make_settings, wait_ready
from onnx import TensorProto, helper

from capsight.api.app import create_app
from capsight.errors import InvalidModel
from capsight.inference import OnnxClassifier
from capsight.store.services import Services
from model_factory import build_colour_model


def _two_input_model(folder: Path) -> Path:
    """The colour model whose scores are scaled by a second input, ``temperature``."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    graph.node[2].output[0] = "raw"
    graph.node.append(helper.make_node("Mul", ["raw", "temperature"], ["logits"]))
    graph.input.append(helper.make_tensor_value_info("temperature", TensorProto.FLOAT, [1]))
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_a_model_with_a_second_input_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(InvalidModel, match=r"temperature"):
        OnnxClassifier(_two_input_model(tmp_path / "m"), intra_op_threads=1)


def test_a_reload_without_warm_up_refuses_it_and_keeps_serving(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "served"
    shutil.copytree(colour_model_dir, folder)
    client = TestClient(
        create_app(make_settings(folder, tmp_path / "var", warmup=False), services=Services())
    )
    with client:
        wait_ready(client)
        shutil.rmtree(folder)
        _two_input_model(folder)
        r = client.post("/v1/models/reload")
        assert r.status_code == 409, r.text
        assert "temperature" in r.json()["error"]
        r = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
        assert r.status_code == 200 and r.json()["label"] == "opened", r.text


def test_the_one_input_model_still_loads(colour_model_dir: Path) -> None:
    clf = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    assert clf.predict(np.zeros((1, 3, 32, 32), dtype=np.float32)).shape == (1, 3)
