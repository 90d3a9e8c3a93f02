"""Model inputs as other exporters write them: channels last (Keras, tf2onnx), a fixed image size,
an integer input. Each either serves right or is refused at load, naming why: before, each loaded
and then failed every request with ONNX Runtime's dimension error (with the warm-up off, or on a
reload, a server became ready that answered 500 to everything)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from capsight.errors import InvalidModel
from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier
from capsight.inference.classifier import to_predictions
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def _rows(clf: OnnxClassifier, labels: list[str]) -> np.ndarray:
    images = [decode_image(solid_image_bytes(LABEL_COLOURS[lab])).image for lab in labels]
    return preprocess_batch(images, clf.metadata.preprocessing)


def _with_input(
    folder: Path, shape: list[int | str], elem_type: int = TensorProto.FLOAT, weight: np.ndarray | None = None
) -> Path:
    """The colour model with its input declared as ``shape`` (and ``elem_type``), fed to the
    original graph through a Transpose (channels last) or a Cast (another type) where needed."""
    build_colour_model(folder, weight=weight)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    tensor = "outside"
    if shape[-1] == 3 and shape[1] != 3:
        graph.node.insert(0, helper.make_node("Transpose", [tensor], ["input"], perm=[0, 3, 1, 2]))
    else:
        graph.node.insert(0, helper.make_node("Identity", [tensor], ["input"]))
    if elem_type != TensorProto.FLOAT:
        graph.node.insert(0, helper.make_node("Cast", ["raw"], [tensor], to=TensorProto.FLOAT))
        tensor = "raw"
    graph.input[0].CopyFrom(helper.make_tensor_value_info(tensor, elem_type, shape))
    onnx.save(model, str(folder / "model.onnx"))
    return folder


@pytest.mark.parametrize("batch", ["N", 1])
def test_a_channels_last_model_is_fed_channels_last_rows(tmp_path: Path, batch: int | str) -> None:
    """A Keras model converted with tf2onnx takes (N, height, width, 3)."""
    clf = OnnxClassifier(_with_input(tmp_path / "nhwc", [batch, 32, 32, 3]), intra_op_threads=1)
    clf.warmup(4)
    labels = ["closed", "opened", "background", "opened"]
    probs = clf.predict(_rows(clf, labels))
    assert [p.label for p in to_predictions(probs, clf.metadata.labels)] == labels


def test_a_channels_first_model_with_fixed_sizes_still_loads(tmp_path: Path) -> None:
    clf = OnnxClassifier(_with_input(tmp_path / "nchw", [1, 3, 32, 32]), intra_op_threads=1)
    labels = ["opened", "closed"]
    assert [p.label for p in to_predictions(clf.predict(_rows(clf, labels)), clf.metadata.labels)] == labels


@pytest.mark.parametrize("shape", [["N", 3, 64, 64], ["N", 64, 64, 3], ["N", 3, 32, 48]])
def test_a_model_taking_another_image_size_than_model_json_says_is_refused_at_load(
    tmp_path: Path, shape: list[int | str]
) -> None:
    folder = _with_input(tmp_path / "size", shape)
    with pytest.raises(InvalidModel, match="input_size") as refused:
        OnnxClassifier(folder, intra_op_threads=1)
    assert "32" in str(refused.value)


def test_a_model_taking_other_than_three_channels_is_refused_at_load(tmp_path: Path) -> None:
    folder = _with_input(tmp_path / "grey", ["N", 1, 32, 32], weight=np.ones((1, 3), np.float32))
    with pytest.raises(InvalidModel, match="3 colour channels"):
        OnnxClassifier(folder, intra_op_threads=1)


def test_a_model_taking_integer_pixels_is_refused_at_load(tmp_path: Path) -> None:
    folder = _with_input(tmp_path / "uint8", ["N", 3, 32, 32], TensorProto.UINT8)
    with pytest.raises(InvalidModel, match=r"tensor\(uint8\)"):
        OnnxClassifier(folder, intra_op_threads=1)
