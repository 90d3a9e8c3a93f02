"""Calibration and check photos for quantization: disjoint sets, serving preprocessing, bad files."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from training_data import CLASSES, make_dataset

from capsight.errors import BadRequest
from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import preprocess
from capsight.inference.classifier import OnnxClassifier
from capsight.training.calibration import load_rows, select_images
from capsight.training.split import SplitPlan


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


def test_a_missing_data_folder_is_named(trained_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="Data folder not found"):
        select_images(tmp_path / "nope", trained_dir / "split.json")


def test_a_split_of_another_folder_is_refused_in_one_line(trained_dir: Path, tmp_path: Path) -> None:
    # The same labels, other photos: every file of the split is missing. This was one warning per
    # photo and then "need decodable photos", which did not say that the split is the problem.
    other = make_dataset(tmp_path / "other", per_class=3, prefix="other")
    with pytest.raises(BadRequest, match=r"None of the \d+ photos of .*split\.json are in"):
        select_images(other, trained_dir / "split.json")


def test_photos_of_the_split_removed_since_are_left_out_with_one_warning(
    shapes_dir: Path, trained_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    shutil.copytree(shapes_dir, data)
    plan = SplitPlan.load(trained_dir / "split.json")
    for relpath in (*plan.train[:3], plan.val[0]):
        (data / relpath).unlink()
    with caplog.at_level(logging.WARNING, logger="capsight.training.calibration"):
        sets = select_images(data, trained_dir / "split.json", calibration=1000)
    assert all(s.path.is_file() for s in (*sets.calibration, *sets.held_out))
    assert len(sets.calibration) == len(plan.train) - 3
    assert len(sets.held_out) == len(plan.val) + len(plan.test) - 1
    assert len(caplog.records) == 1 and "4 photos of" in caplog.text
