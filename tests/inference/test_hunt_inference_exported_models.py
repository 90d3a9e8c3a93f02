"""Exported models as they come from other tools: a batch dimension fixed at export time, a half
precision input. Each must serve like the dynamic float32 models capsight writes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier
from capsight.inference.classifier import to_predictions
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def _colour_rows(clf: OnnxClassifier, labels: list[str]) -> np.ndarray:
    images = [decode_image(solid_image_bytes(LABEL_COLOURS[lab])).image for lab in labels]
    return preprocess_batch(images, clf.metadata.preprocessing)


def _fixed_batch_model(folder: Path, batch: int) -> Path:
    """The colour model as ``torch.onnx.export`` writes it without ``dynamic_axes``: batch fixed."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    for value in (model.graph.input[0], model.graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_param")
        dim.dim_value = batch
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_a_model_exported_with_a_fixed_batch_of_one_answers_a_batch_of_many(tmp_path: Path) -> None:
    """The micro-batcher hands such a model 16 rows at once: every concurrent request got a 500."""
    clf = OnnxClassifier(_fixed_batch_model(tmp_path / "fixed1", 1), intra_op_threads=1)
    labels = ["opened", "background", "closed", "opened", "closed"]
    probs = clf.predict(_colour_rows(clf, labels))
    assert probs.shape == (5, 3)
    assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels


def test_a_model_exported_with_a_fixed_batch_of_four_answers_any_batch_size(tmp_path: Path) -> None:
    clf = OnnxClassifier(_fixed_batch_model(tmp_path / "fixed4", 4), intra_op_threads=1)
    for labels in (["closed"], ["opened", "background", "closed", "opened", "closed", "background"]):
        probs = clf.predict(_colour_rows(clf, labels))
        assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels
    clf.warmup(16)  # the server warms its largest batch shape too


def _half_precision_model(folder: Path) -> Path:
    """The colour model converted to float16 throughout (onnxconverter-common's float16 pass
    without keep_io_types): a float16 input and output."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.elem_type = TensorProto.FLOAT16
    weight = numpy_helper.to_array(model.graph.initializer[0]).astype(np.float16)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(weight, "W"))
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_a_half_precision_model_is_fed_its_own_input_type(tmp_path: Path) -> None:
    """The rows were always cast to float32, which ONNX Runtime refuses for a float16 input: the
    model failed its warm-up and the server never became ready."""
    clf = OnnxClassifier(_half_precision_model(tmp_path / "fp16"), intra_op_threads=1)
    clf.warmup(4)
    labels = ["closed", "opened", "background"]
    probs = clf.predict(_colour_rows(clf, labels))
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-3)
    assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels


def _conv_head_model(folder: Path) -> Path:
    """The colour model with a convolutional head's output, (N, classes, 1, 1), as models whose
    classifier is a 1x1 convolution are exported (SqueezeNet in the ONNX model zoo)."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    graph.node[2].output[0] = "flat_logits"
    graph.initializer.append(numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"))
    graph.node.append(onnx.helper.make_node("Unsqueeze", ["flat_logits", "axes"], ["logits"]))
    graph.output[0].CopyFrom(onnx.helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3, 1, 1]))
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def test_a_model_with_a_convolutional_head_output_is_served(tmp_path: Path) -> None:
    """Its trailing 1 x 1 was read as the class axis: the model was refused at load with 'has 1
    outputs but model.json lists 3 labels'."""
    clf = OnnxClassifier(_conv_head_model(tmp_path / "conv-head"), intra_op_threads=1)
    labels = ["opened", "closed", "background"]
    probs = clf.predict(_colour_rows(clf, labels))
    assert probs.shape == (3, 3)
    assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels
