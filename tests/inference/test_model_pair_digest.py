"""model.json records the SHA-256 of its model.onnx, and a load refuses a model.onnx of another model.

Why: a folder rewritten while it loads (``capsight train --out`` or ``promote`` into the folder a
server serves) could be read as one file of each model, and served silently: the new weights under
the old labels, version and preprocessing. A pair that does not match is read again for a moment (a
publication in progress settles) and then refused, so a reload keeps the served model. A model.json
written before the field existed (the bundled model's) loads as before.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from capsight.errors import InvalidModel
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import load_metadata, onnx_digest
from capsight.inference.model_files import read_model_files
from model_factory import build_colour_model

RED_WINS = np.array([[4.0, 0, 0], [4.0, 0, 0], [4.0, 0, 0]], dtype=np.float32)


def _with_digest(folder: Path) -> Path:
    meta = load_metadata(folder)
    replace(meta, onnx_sha256=onnx_digest(folder / "model.onnx")).save(folder)
    return folder


def _mixed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A folder holding model A's model.json beside model B's model.onnx, and the two models."""
    a = _with_digest(build_colour_model(tmp_path / "a", version="a"))
    b = _with_digest(build_colour_model(tmp_path / "b", version="b", weight=RED_WINS))
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    shutil.copyfile(b / "model.onnx", mixed / "model.onnx")
    return mixed, a, b


def test_a_model_onnx_of_another_model_is_refused(tmp_path: Path) -> None:
    mixed, _, _ = _mixed(tmp_path)
    started = time.monotonic()
    with pytest.raises(
        InvalidModel, match=r"model\.onnx is not the model\.onnx .*model\.json was written with"
    ) as refused:
        OnnxClassifier(mixed)
    # A model.onnx replaced on purpose (simplified, quantized by another tool) has a way out.
    assert 'remove "onnx_sha256" from model.json' in refused.value.message
    assert time.monotonic() - started < 5  # read again for a moment, not forever


def test_a_pair_that_settles_while_read_loads_the_matching_model(tmp_path: Path) -> None:
    mixed, a, _ = _mixed(tmp_path)

    def finish_publishing() -> None:
        time.sleep(0.3)
        shutil.copyfile(a / "model.onnx", mixed / ".model.onnx.tmp")
        (mixed / ".model.onnx.tmp").replace(mixed / "model.onnx")

    thread = threading.Thread(target=finish_publishing)
    thread.start()
    try:
        classifier = OnnxClassifier(mixed)
    finally:
        thread.join()
    assert classifier.metadata.version == "a"
    assert classifier.metadata.fingerprint == OnnxClassifier(a).metadata.fingerprint


def test_model_json_without_the_digest_loads_as_before(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "old")
    assert "onnx_sha256" not in json.loads((folder / "model.json").read_text())
    assert OnnxClassifier(folder).metadata.onnx_sha256 is None
    bundled = Path(__file__).resolve().parents[2] / "models" / "bottle-status"
    assert read_model_files(bundled).metadata.name == "bottle-status"


def test_the_digest_written_is_the_digest_read(tmp_path: Path) -> None:
    folder = _with_digest(build_colour_model(tmp_path / "new"))
    recorded = json.loads((folder / "model.json").read_text())["onnx_sha256"]
    assert recorded == onnx_digest((folder / "model.onnx").read_bytes())
    assert OnnxClassifier(folder).metadata.onnx_sha256 == recorded


def test_a_malformed_digest_is_an_invalid_model_json(tmp_path: Path) -> None:
    folder = build_colour_model(tmp_path / "bad")
    data = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**data, "onnx_sha256": 12}))
    with pytest.raises(InvalidModel, match="onnx_sha256 must be 64 lowercase hex digits"):
        OnnxClassifier(folder)


def test_a_model_with_external_weights_still_loads(tmp_path: Path) -> None:
    """The session is built from the checked bytes, not the path: the weights a large model keeps
    in a file beside it (``model.onnx.data``) are looked up in the model folder all the same."""
    import onnx

    folder = build_colour_model(tmp_path / "external")
    graph = onnx.load(str(folder / "model.onnx"))
    onnx.save(
        graph,
        str(folder / "model.onnx"),
        save_as_external_data=True,
        location="model.onnx.data",
        size_threshold=0,
    )
    assert (folder / "model.onnx.data").is_file()
    scores = OnnxClassifier(folder).predict(np.ones((1, 3, 32, 32), np.float32))
    assert scores.shape == (1, 3)
