"""A server loading a model folder while ``capsight train --out`` publishes into it never gets a
mixed pair (the new model.onnx with the old model.json, or the reverse).

Why: the run moves its files into the folder one rename each (model.json, then model.onnx), and a
load read model.json, then model.onnx twice (for the fingerprint and for the session): a reload
landing between the renames served one model's weights under the other's version, labels and
preprocessing, without an error. Two real trained models are published in turn through the same
staging code the training run uses, while the folder is loaded again and again; each load must
answer with the weights its model.json was written with.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np

from capsight.cli import main
from capsight.errors import InvalidModel
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import load_metadata, onnx_digest
from capsight.training.staging import staged_folder

FILES = ("model.json", "model.onnx")


def _train(data: Path, out: Path, seed: int) -> Path:
    rc = main(
        [
            *("train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1"),
            *("--image-size", "24", "--batch-size", "8", "--seed", str(seed), "--no-checkpoint"),
        ]
    )
    assert rc == 0
    return out


def test_no_load_mixes_two_published_models(shapes_dir: Path, tmp_path: Path) -> None:
    models = [_train(shapes_dir, tmp_path / f"model-{seed}", seed) for seed in (1, 2)]
    batch = np.random.default_rng(0).normal(size=(4, 3, 24, 24)).astype(np.float32)
    answers = {}
    for folder in models:  # what lets a load tell the pairs apart: model.json names its model.onnx
        assert load_metadata(folder).onnx_sha256 == onnx_digest(folder / "model.onnx")
        classifier = OnnxClassifier(folder)
        answers[classifier.metadata.version] = classifier.predict(batch)
    assert len(answers) == 2
    a, b = answers.values()
    assert not np.allclose(a, b, atol=1e-3)  # the two models tell apart by their answers

    served = tmp_path / "served"
    shutil.copytree(models[0], served)
    stop = threading.Event()

    def publish() -> None:
        while not stop.is_set():
            for folder in models:
                with staged_folder(served) as staging:
                    for name in FILES:
                        shutil.copyfile(folder / name, staging / name)
                time.sleep(0.001)

    publisher = threading.Thread(target=publish)
    publisher.start()
    loads, refused, mixed = 0, 0, []
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            try:
                classifier = OnnxClassifier(served, intra_op_threads=1)
            except InvalidModel:
                refused += 1  # a reload then keeps the served model: no harm done
                continue
            loads += 1
            expected = answers[classifier.metadata.version]
            if not np.allclose(classifier.predict(batch), expected, atol=1e-5):
                mixed.append(classifier.metadata.version)
    finally:
        stop.set()
        publisher.join()
    assert loads >= 5, (loads, refused)
    assert mixed == [], (
        f"{len(mixed)} of {loads} loads served one model's weights under the other's model.json"
    )
