"""A model.json that says ``"outputs_probabilities": true`` over a graph answering raw scores
(logits): serving took the scores as probabilities, so the API answered confidences below 0 or
above 1. The load refuses such a model, naming the flag, instead."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from capsight.errors import InvalidModel
from capsight.inference import OnnxClassifier
from capsight.inference.metadata import METADATA_FILE, ONNX_FILE, load_metadata, serving_fingerprint
from model_factory import build_colour_model

RED_ROW = np.zeros((1, 3, 32, 32), dtype=np.float32)
RED_ROW[0, 0] = 1.0


def _declare_probabilities(folder: Path) -> Path:
    data = json.loads((folder / METADATA_FILE).read_text())
    data["outputs_probabilities"] = True
    (folder / METADATA_FILE).write_text(json.dumps(data))
    return folder


def _append(folder: Path, op: str, **attrs: int) -> Path:
    """The colour model with one more node after its logits (Softmax, Relu...)."""
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    graph.node[-1].output[0] = "raw"
    graph.node.append(helper.make_node(op, ["raw"], ["logits"], **attrs))
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_logits_declared_as_probabilities_are_refused_naming_the_flag(tmp_path: Path) -> None:
    """The red image was answered 4.0 for 'background' (and the blank one 0 for every label)."""
    folder = _declare_probabilities(build_colour_model(tmp_path / "logits"))
    with pytest.raises(InvalidModel) as refused:
        OnnxClassifier(folder, intra_op_threads=1)
    message = str(refused.value)
    assert str(folder / METADATA_FILE) in message
    assert '"outputs_probabilities": true' in message


def test_non_negative_scores_that_do_not_sum_to_one_are_refused(tmp_path: Path) -> None:
    """A graph ending in Relu answers no negative score, but its rows are not probabilities
    either (the red image's 'confidence' was 4.0)."""
    folder = _declare_probabilities(_append(build_colour_model(tmp_path / "relu"), "Relu"))
    with pytest.raises(InvalidModel, match="outputs_probabilities"):
        OnnxClassifier(folder, intra_op_threads=1)


def test_a_one_label_model_declaring_probabilities_is_checked_too(tmp_path: Path) -> None:
    folder = _declare_probabilities(build_colour_model(tmp_path / "one", labels=("only",)))
    with pytest.raises(InvalidModel, match="outputs_probabilities"):
        OnnxClassifier(folder, intra_op_threads=1)


def test_declared_probabilities_that_are_probabilities_load_and_serve_as_they_are(tmp_path: Path) -> None:
    folder = _declare_probabilities(_append(build_colour_model(tmp_path / "softmax"), "Softmax", axis=1))
    clf = OnnxClassifier(folder, intra_op_threads=1)
    logits = np.array([4.0, 0.0, 0.0])
    np.testing.assert_allclose(clf.predict(RED_ROW)[0], np.exp(logits) / np.exp(logits).sum(), atol=1e-5)
    assert clf.metadata.outputs_probabilities is True


def test_the_flag_still_keys_cached_answers(tmp_path: Path) -> None:
    """The same files served with and without softmax answer differently: the fingerprint the
    result cache keys on tells them apart. (No folder loads both ways any more: a graph answering
    probabilities is detected, one answering logits under the flag refused.)"""
    folder = build_colour_model(tmp_path / "model")
    metadata = load_metadata(folder)
    flagged = replace(metadata, outputs_probabilities=True)
    onnx_path = folder / ONNX_FILE
    assert serving_fingerprint(metadata, onnx_path) != serving_fingerprint(flagged, onnx_path)
