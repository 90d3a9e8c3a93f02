"""A model with more than one output serves the one model.json names (``output_name``).

Exports often add outputs beside the class scores (embeddings for search, the probabilities next
to the logits). The classifier always read the graph's first output: a model whose first output
was its 8 features was refused ("has 8 outputs but model.json lists 3 labels") though model.json
named its "logits"."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier, load_metadata
from capsight.inference.classifier import to_predictions
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def _with_features_first(folder: Path, output_name: str = "logits") -> Path:
    """The colour model with an 8-wide "features" output listed before its "logits"."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(np.ones((3, 8), np.float32), "F"))
    graph.node.append(helper.make_node("MatMul", ["flat", "F"], ["features"]))
    logits = graph.output[0]
    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 8])
    del graph.output[:]
    graph.output.extend([features, logits])
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    meta = load_metadata(folder)
    dataclasses.replace(meta, output_name=output_name).save(folder)
    return folder


def test_the_output_model_json_names_is_served(tmp_path: Path) -> None:
    clf = OnnxClassifier(_with_features_first(tmp_path / "two"), intra_op_threads=1)
    labels = ["opened", "closed", "background"]
    images = [decode_image(solid_image_bytes(LABEL_COLOURS[lab])).image for lab in labels]
    probs = clf.predict(preprocess_batch(images, clf.metadata.preprocessing))
    assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels


def test_a_single_output_model_serves_it_whatever_model_json_calls_it(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "one")
    dataclasses.replace(load_metadata(folder), output_name="scores").save(folder)
    clf = OnnxClassifier(folder, intra_op_threads=1)
    images = [decode_image(solid_image_bytes(LABEL_COLOURS["closed"])).image]
    probs = clf.predict(preprocess_batch(images, clf.metadata.preprocessing))
    assert to_predictions(probs, clf.metadata.labels)[0].label == "closed"
