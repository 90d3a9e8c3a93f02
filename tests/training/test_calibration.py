"""Calibration and check photos for quantization: disjoint sets, serving preprocessing, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from training_data import CLASSES, make_dataset

from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import preprocess
from capsight.inference.classifier import OnnxClassifier
from capsight.training.calibration import load_rows, select_images


def test_calibration_and_check_sets_are_disjoint(shapes_dir: Path, trained_dir: Path) -> None:
    for split_file in (trained_dir / "split.json", None):
        sets = select_images(shapes_dir, split_file, calibration=10)
        cal = {s.relpath for s in sets.calibration}
        held = {s.relpath for s in sets.held_out}
        assert len(cal) == 10
        assert held and not cal & held


def test_rows_are_the_serving_preprocessing_and_bad_files_are_skipped(
    trained_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)  # only good photos, and then one bad one
    label = sorted(CLASSES)[0]
    (data / label / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    sets = select_images(data, None)
    every = [*sets.calibration, *sets.held_out]  # the folder shuffle splits the whole folder in two
    spec = OnnxClassifier(trained_dir).metadata.preprocessing
    kept, rows = load_rows(every, spec)
    names = [s.relpath for s in every]
    assert f"{label}/broken.jpg" in names
    assert f"{label}/broken.jpg" not in [s.relpath for s in kept]
    assert len(kept) == len(names) - 1 == len(rows)
    assert "broken.jpg" in caplog.text
    first = decode_file(str(kept[0].path), min_side=spec.decode_hint()).image
    assert np.array_equal(rows[0], preprocess(first, spec))
