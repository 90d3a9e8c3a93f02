from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capsight.errors import InvalidModel
from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier, load_metadata
from capsight.inference.classifier import to_predictions
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


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


def _edit_model_json(model_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = model_dir / "model.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_copies_of_one_model_share_a_fingerprint_and_history_does_not_change_it(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """Replicas load copies of one model from different paths and must share cached answers; metrics
    and dates rewritten by an evaluation do not change what the model answers."""
    copy = tmp_path / "copy"
    shutil.copytree(colour_model_dir, copy)
    _edit_model_json(copy, lambda d: d.update(metrics={"accuracy": 0.5}, created_at="2030-01-01T00:00:00"))
    original = OnnxClassifier(colour_model_dir).metadata.fingerprint
    assert len(original) == 16
    assert OnnxClassifier(copy).metadata.fingerprint == original


@pytest.mark.parametrize(
    "change",
    ["retrained weights", "mean corrected", "resize mode", "labels swapped"],
)
def test_what_changes_the_answers_changes_the_fingerprint_under_the_same_version(
    tmp_path: Path, change: str
) -> None:
    """The result cache keys on the fingerprint because the version string stays "1" through a
    retraining or a corrected model.json."""
    before = build_colour_model(tmp_path / "before", name="m", version="1")
    after = tmp_path / "after"
    if change == "retrained weights":
        build_colour_model(after, name="m", version="1", weight=np.eye(3, dtype=np.float32)[::-1] * 4)
    else:
        shutil.copytree(before, after)
        edit = {
            "mean corrected": lambda d: d["preprocessing"].update(mean=[0.5, 0.5, 0.5]),
            "resize mode": lambda d: d["preprocessing"].update(resize_mode="center_crop"),
            "labels swapped": lambda d: d.update(labels=list(reversed(d["labels"]))),
        }[change]
        _edit_model_json(after, edit)
    first, second = OnnxClassifier(before).metadata, OnnxClassifier(after).metadata
    assert (first.name, first.version) == (second.name, second.version) == ("m", "1")
    assert first.fingerprint != second.fingerprint
    # Not a field of model.json: nothing a model folder says can set or fake it.
    assert "fingerprint" not in second.to_dict()
