"""evaluate and quantize read MODEL_DIR's model.json and model.onnx as one pair.

Why: ``evaluate`` read model.json (the version it reports) apart from the model it scored, and
``quantize`` read model.json, then model.onnx again by path for the FP32 reference and for the graph
it quantizes: a publication into MODEL_DIR in between (train/export/quantize --out, promote) gave
one model's numbers under the other's version, or an INT8 model of one graph under the other's
labels. The race is made deterministic here: the other model is published right after MODEL_DIR's
model.json is first read.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from capsight.cli import main
from capsight.inference.metadata import load_metadata, onnx_digest
from capsight.training.quantize import quantize_model


def _reversed_model(source: Path, target: Path) -> None:
    """A model with ``source``'s labels whose scores come out in reverse order: another model, whose
    answers are mostly wrong, published with its own model.json (version "other")."""
    shutil.copytree(source, target)
    graph_model = onnx.load(str(source / "model.onnx"))
    graph = graph_model.graph
    scores = graph.output[0].name
    producer = next(n for n in graph.node if scores in n.output)
    producer.output[list(producer.output).index(scores)] = "scores_before_reversal"
    n_labels = len(load_metadata(source).labels)
    order = numpy_helper.from_array(np.arange(n_labels - 1, -1, -1), "reversal_order")
    graph.initializer.append(order)
    graph.node.append(
        helper.make_node("Gather", ["scores_before_reversal", "reversal_order"], [scores], axis=1)
    )
    onnx.save(graph_model, str(target / "model.onnx"))
    meta = load_metadata(source)
    replace(meta, version="other", onnx_sha256=onnx_digest(target / "model.onnx")).save(target)


def _publish_after_first_read(monkeypatch: pytest.MonkeyPatch, model_dir: Path, other: Path) -> None:
    """Right after MODEL_DIR/model.json is first read, ``other`` is published there (one rename per
    file, model.json first, as staged_folder does)."""
    real = Path.read_bytes
    done: list[bool] = []

    def read_bytes(self: Path) -> bytes:
        data = real(self)
        if not done and self == model_dir / "model.json":
            done.append(True)
            for name in ("model.json", "model.onnx"):
                shutil.copyfile(other / name, other / f"{name}.tmp")
                os.replace(other / f"{name}.tmp", model_dir / name)
        return data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def _accuracy(model_dir: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["evaluate", str(model_dir), str(data), "--json"]) == 0
    payload: dict[str, object] = json.loads(capsys.readouterr().out)
    return payload


@pytest.fixture()
def models(trained_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    served = tmp_path / "served"
    shutil.copytree(trained_dir, served)
    _reversed_model(trained_dir, tmp_path / "other")
    return served, tmp_path / "other"


def test_evaluate_reports_the_version_of_the_model_it_scored(
    models: tuple[Path, Path],
    shapes_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, other = models
    accuracy = {
        str(p["model"]["version"]): p["accuracy"]  # type: ignore[index]
        for p in (_accuracy(served, shapes_dir, capsys), _accuracy(other, shapes_dir, capsys))
    }
    assert len(accuracy) == 2 and abs(accuracy["other"] - accuracy[load_metadata(served).version]) > 0.3  # type: ignore[operator]
    _publish_after_first_read(monkeypatch, served, other)
    payload = _accuracy(served, shapes_dir, capsys)
    assert (load_metadata(served).version) == "other"  # the publication did happen mid-evaluate
    assert payload["accuracy"] == accuracy[str(payload["model"]["version"])]  # type: ignore[index]


def test_quantize_labels_the_int8_model_with_its_own_source(
    models: tuple[Path, Path],
    shapes_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, other = models
    source_copies = {load_metadata(served).version: tmp_path / "served-copy", "other": other}
    shutil.copytree(served, source_copies[load_metadata(served).version])
    out = tmp_path / "int8"
    with monkeypatch.context() as patch:
        _publish_after_first_read(patch, served, other)
        meta, _ = quantize_model(served, shapes_dir, out, calibration=10)
    assert load_metadata(served).version == "other"  # the publication did happen mid-quantize
    source_version = meta.extra["quantization"]["source_version"]
    assert meta.version == f"{source_version}-int8"
    int8 = _accuracy(out, shapes_dir, capsys)["accuracy"]
    source = _accuracy(source_copies[source_version], shapes_dir, capsys)["accuracy"]
    assert abs(int8 - source) < 0.1, (source_version, int8, source)  # type: ignore[operator]
