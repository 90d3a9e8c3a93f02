from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from capsight.errors import InvalidModel
from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier, load_metadata
from capsight.inference.classifier import to_predictions
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_colour_model_predicts_each_label(colour_model_dir: Path) -> None:
    clf = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    spec = clf.metadata.preprocessing
    labels = list(LABEL_COLOURS)
    images = [decode_image(solid_image_bytes(LABEL_COLOURS[lab])).image for lab in labels]
    probs = clf.predict(preprocess_batch(images, spec))
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    preds = to_predictions(probs, clf.metadata.labels)
    assert [p.label for p in preds] == labels
    assert all(p.confidence > 0.5 for p in preds)


def test_label_count_mismatch_is_refused(colour_model_dir: Path, tmp_path: Path) -> None:
    meta = load_metadata(colour_model_dir)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes((colour_model_dir / "model.onnx").read_bytes())
    from dataclasses import replace

    replace(meta, labels=("a", "b")).save(bad)
    with pytest.raises(InvalidModel, match=r"has 3 outputs but model\.json lists 2 labels"):
        OnnxClassifier(bad)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("onnx cut short", "is not a valid ONNX model"),
        ("onnx missing", "model.onnx not found"),
        ("json cut short", "is not a valid capsight model.json"),
        ("json empty object", "must list the class labels"),
        ("json a list", "it is not a JSON object"),
        ("json missing", "model.json not found"),
    ],
)
def test_a_broken_model_folder_is_one_clear_error(
    colour_model_dir: Path, tmp_path: Path, breakage: str, message: str
) -> None:
    """The CLI and the server print these as one line: no ONNX Runtime or JSON traceback."""
    bad = tmp_path / "bad"
    bad.mkdir()
    onnx = (colour_model_dir / "model.onnx").read_bytes()
    meta = (colour_model_dir / "model.json").read_text()
    files = {
        "onnx cut short": {"model.onnx": onnx[: len(onnx) // 2], "model.json": meta},
        "onnx missing": {"model.json": meta},
        "json cut short": {"model.onnx": onnx, "model.json": meta[:20]},
        "json empty object": {"model.onnx": onnx, "model.json": "{}"},
        "json a list": {"model.onnx": onnx, "model.json": "[1, 2]"},
        "json missing": {"model.onnx": onnx},
    }[breakage]
    for name, content in files.items():
        target = bad / name
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    with pytest.raises(InvalidModel, match=message) as caught:
        OnnxClassifier(bad)
    assert "\n" not in caught.value.message


def test_metadata_round_trip(colour_model_dir: Path) -> None:
    meta = load_metadata(colour_model_dir)
    assert meta.labels == ("background", "closed", "opened")
    assert meta.preprocessing.input_size == 32
    buf = io.StringIO()
    buf.write(str(meta.to_dict()))
    assert "colour-test" in buf.getvalue()


def test_unfused_session_gives_the_same_answers_for_a_float_model(colour_model_dir: Path) -> None:
    """fused=False only turns graph fusion off; for a float graph the arithmetic is the same."""
    rows = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
    fused = OnnxClassifier(colour_model_dir).predict(rows)
    unfused = OnnxClassifier(colour_model_dir, fused=False).predict(rows)
    assert np.allclose(fused, unfused, atol=1e-6) and np.allclose(unfused.sum(axis=1), 1.0, atol=1e-5)
