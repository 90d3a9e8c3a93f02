"""A photo skipped for its size says which setting raises the limit, as ``capsight classify`` does.

Why: training and evaluation said only "the limit is 0.003 megapixels": the operator was not told that
CAPSIGHT_MAX_PIXELS sets it (in pixels, not megapixels), so the photo stayed out of the run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from training_data import make_dataset, shape_image

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from capsight.training.calibration import load_rows
from capsight.training.dataset import load_samples, scan_folder

BIG = "circle/big.png"  # 60x60 = 3,600 pixels; the generated photos are 44x44 = 1,936
HINT = "Set CAPSIGHT_MAX_PIXELS (now 3000) higher"


def _folder(root: Path) -> Path:
    make_dataset(root, per_class=2, seed=3)
    shape_image("circle", np.random.default_rng(9), size=60).save(root / BIG)
    return root


def test_training_names_the_setting_for_a_photo_over_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = _folder(tmp_path / "data")
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "3000")
    with caplog.at_level(logging.WARNING):
        loaded, skipped = load_samples(scan_folder(data, None), cache_side=32)
    assert [s.relpath for s in skipped] == [BIG]
    assert HINT in skipped[0].reason
    assert len(loaded) == 6
    assert any(BIG in r.getMessage() and HINT in r.getMessage() for r in caplog.records)


def test_evaluate_names_the_setting_for_a_photo_over_the_limit(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path / "data")
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "3000")
    assert main(["evaluate", str(trained_dir), str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(s["file"], HINT in s["reason"]) for s in report["skipped"]] == [(BIG, True)]
    assert main(["evaluate", str(trained_dir), str(data)]) == 0
    assert f"skipped {BIG}: " in capsys.readouterr().out


def test_a_photo_skipped_for_another_reason_gets_no_pixel_hint(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path / "data")
    (data / "circle" / "empty.png").write_bytes(b"")
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "3000")
    assert main(["evaluate", str(trained_dir), str(data), "--json"]) == 0
    reasons = {s["file"]: s["reason"] for s in json.loads(capsys.readouterr().out)["skipped"]}
    assert "CAPSIGHT_MAX_PIXELS" not in reasons["circle/empty.png"]


def test_quantize_calibration_names_the_setting_for_a_photo_over_the_limit(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = _folder(tmp_path / "data")
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "3000")
    with caplog.at_level(logging.WARNING):
        kept, rows = load_rows(scan_folder(data, None), load_metadata(trained_dir).preprocessing)
    assert len(kept) == len(rows) == 6
    assert any(BIG in r.getMessage() and HINT in r.getMessage() for r in caplog.records)
