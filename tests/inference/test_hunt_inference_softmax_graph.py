"""Models whose ONNX graph already ends in Softmax (exported with it, or trained elsewhere): serving
must not apply softmax to their probabilities a second time."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from capsight.inference import OnnxClassifier
from capsight.inference.metadata import METADATA_FILE
from model_factory import build_colour_model

# One image whose first channel is 1 and the others 0: the colour model's logits are (4, 0, 0).
RED_ROW = np.zeros((1, 3, 32, 32), dtype=np.float32)
RED_ROW[0, 0] = 1.0
LOGITS = np.array([4.0, 0.0, 0.0])
PROBABILITIES = np.exp(LOGITS) / np.exp(LOGITS).sum()  # 0.965, 0.018, 0.018


def _softmax_model(folder: Path) -> Path:
    """The colour model with a Softmax appended, as ``torch.onnx.export`` writes a model whose
    forward() ends in ``softmax`` (model.json, as capsight writes it, says nothing about it)."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    graph.node[-1].output[0] = "raw"
    graph.node.append(helper.make_node("Softmax", ["raw"], ["logits"], axis=1))
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_a_graph_ending_in_softmax_is_not_given_a_second_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 0.965 answer was served as 0.576 (softmax of probabilities squashes them toward 1/classes),
    with no warning anywhere."""
    with caplog.at_level(logging.WARNING, logger="capsight.inference.classifier"):
        clf = OnnxClassifier(_softmax_model(tmp_path / "softmaxed"), intra_op_threads=1)
    np.testing.assert_allclose(clf.predict(RED_ROW)[0], PROBABILITIES, atol=1e-5)
    assert clf.metadata.outputs_probabilities is True  # what /v1/models reports and caches key on
    assert any('"outputs_probabilities": true' in r.getMessage() for r in caplog.records), caplog.text


def test_the_corrected_model_is_not_keyed_as_the_squashed_one(tmp_path: Path) -> None:
    """Cached answers are keyed by the fingerprint: a replica still serving the squashed numbers
    for these files must not share its cache with one serving the right numbers."""
    folder = _softmax_model(tmp_path / "softmaxed")
    detected = OnnxClassifier(folder, intra_op_threads=1)
    data = json.loads((folder / METADATA_FILE).read_text())
    data["outputs_probabilities"] = True
    (folder / METADATA_FILE).write_text(json.dumps(data))
    declared = OnnxClassifier(folder, intra_op_threads=1)
    assert detected.metadata.fingerprint == declared.metadata.fingerprint


def test_a_model_answering_logits_still_gets_its_softmax(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="capsight.inference.classifier"):
        clf = OnnxClassifier(build_colour_model(tmp_path / "logits"), intra_op_threads=1)
    np.testing.assert_allclose(clf.predict(RED_ROW)[0], PROBABILITIES, atol=1e-5)
    assert clf.metadata.outputs_probabilities is False
    assert not caplog.records
