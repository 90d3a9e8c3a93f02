"""Training and evaluation read photos under the pixel limit serving is set to (CAPSIGHT_MAX_PIXELS).

Why: they decoded with a fixed 50 megapixels. A server set higher (108 MP phone photos) answered
photos that `capsight train` and `capsight evaluate` skipped, and one set lower refused uploads of the
kind the model had been trained and scored on. Here the limit is set low so the photos stay tiny.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from training_data import make_dataset, shape_image

from capsight.cli import main

BIG = "circle/big.png"  # 60x60 = 3,600 pixels; the generated photos are 44x44 = 1,936


def _folder(root: Path, per_class: int) -> Path:
    make_dataset(root, per_class=per_class, seed=3)
    shape_image("circle", np.random.default_rng(9), size=60).save(root / BIG)
    return root


def test_train_skips_photos_over_the_set_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = _folder(tmp_path / "data", per_class=8)
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "3000")
    out = tmp_path / "model"
    with caplog.at_level(logging.WARNING):
        rc = main(
            [
                *("train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1"),
                *("--image-size", "32", "--batch-size", "8", "--seed", "1"),
            ]
        )
    assert rc == 0
    assert any(BIG in r.getMessage() and "0.003 megapixels" in r.getMessage() for r in caplog.records)
    split = json.loads((out / "split.json").read_text())
    listed = json.dumps(split)
    assert "big.png" not in listed


@pytest.mark.parametrize(("limit", "skipped"), [("3000", True), ("4000", False)])
def test_evaluate_uses_the_set_limit(
    trained_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    limit: str,
    skipped: bool,
) -> None:
    data = _folder(tmp_path / "data", per_class=2)
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", limit)
    assert main(["evaluate", str(trained_dir), str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == (6 if skipped else 7)
    assert any(BIG in json.dumps(item) for item in report["skipped"]) is skipped
