"""The model that ships in models/bottle-status: loadable, self-consistent, and its numbers reproducible.

Every other serving test uses a tiny generated model; this one checks the real artefact users get,
so a retrained model committed without its metadata, card or split cannot slip through.
"""

from __future__ import annotations

import hashlib
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from capsight.cli import main
from capsight.imaging import decode_image, preprocess
from capsight.inference import OnnxClassifier, load_metadata
from capsight.settings import bundled_model_dir
from shared_photos import SHARED_PHOTOS, needs_shared_photos

MODEL_DIR = bundled_model_dir()


def test_bundled_model_loads_and_answers_a_photo() -> None:
    meta = load_metadata(MODEL_DIR)
    assert meta.name == "bottle-status"
    assert meta.labels == ("background", "closed", "opened")
    assert (MODEL_DIR / "model.onnx").stat().st_size < 20 * 1024 * 1024
    classifier = OnnxClassifier(MODEL_DIR, intra_op_threads=1)
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 140, 90)).save(buf, format="JPEG")
    row = preprocess(decode_image(buf.getvalue()).image, meta.preprocessing)
    probs = classifier.predict(row[None])
    assert probs.shape == (1, 3)
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-5) and (probs >= 0).all()


def test_bundled_model_json_records_the_hash_of_its_onnx() -> None:
    """So a copy of the bundled folder whose model.onnx was swapped is refused, not served as this one."""
    meta = load_metadata(MODEL_DIR)
    assert meta.onnx_sha256 == hashlib.sha256((MODEL_DIR / "model.onnx").read_bytes()).hexdigest()


def test_card_report_and_split_belong_to_the_shipped_version() -> None:
    meta = load_metadata(MODEL_DIR)
    card = (MODEL_DIR / "MODEL_CARD.md").read_text()
    assert f"`{meta.version}`" in card
    for name in ("split.json", "report.html", "confusion_matrix.png", "misclassified.png"):
        assert (MODEL_DIR / name).is_file(), name
    split = json.loads((MODEL_DIR / "split.json").read_text())
    assert len(split["test"]) == meta.metrics["n"]
    accuracy = re.search(r"\*\*accuracy\*\* \| \| \| \*\*([0-9.]+)\*\*", card)
    assert accuracy and float(accuracy.group(1)) == round(meta.metrics["accuracy"], 3)


@pytest.mark.slow
@needs_shared_photos
def test_reported_test_metrics_are_reproduced_from_the_photos(capsys: pytest.CaptureFixture[str]) -> None:
    """model.json's metrics come from evaluating this very file on the listed test photos."""
    meta = load_metadata(MODEL_DIR)
    argv = ["evaluate", str(MODEL_DIR), str(SHARED_PHOTOS), "--split-file", str(MODEL_DIR / "split.json")]
    assert main([*argv, "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    n = meta.metrics["n"]
    assert result["n"] == n
    # Integer kernels differ between CPUs only in float rounding around them, which may move one
    # photo that sits on a tie; an int8 overflow (the bug this guards against) moved six of 107.
    assert abs(result["accuracy"] - meta.metrics["accuracy"]) <= 1 / n + 1e-9
    moved = np.abs(np.array(result["confusion_matrix"]) - np.array(meta.metrics["confusion_matrix"])).sum()
    assert moved <= 2
