"""Exported models as they come from other tools: a batch dimension fixed at export time, a half
precision input. Each must serve like the dynamic float32 models capsight writes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

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
