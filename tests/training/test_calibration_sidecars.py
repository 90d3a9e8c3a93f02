"""``capsight quantize`` reads calibration photos from a folder as train and evaluate do, yet logged each
sidecar beside them (``.xmp``, ``.json``, ``.AAE``) as "skipped ... not a supported image", one warning
a file. As in train and evaluate, a broken photo is still named and the sidecars are counted in one line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.inference import load_metadata
from capsight.training.calibration import load_rows
from capsight.training.dataset import scan_folder


def test_calibration_counts_sidecars_in_one_line(
    trained_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=2)
    for label in ("circle", "square"):
        for name in ("a.xmp", "a.json", "IMG_1.AAE"):
            (data / label / name).write_text("{}\n")
    (data / "circle" / "broken.jpg").write_bytes(b"not a photo")
    with caplog.at_level(logging.INFO):
        kept, rows = load_rows(scan_folder(data, None), load_metadata(trained_dir).preprocessing)
    assert len(kept) == len(rows) == 6
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages if m.startswith("skipped ")] == ["skipped circle/broken.jpg"]
    assert "6 files that are not images (.aae, .json, .xmp) left out" in messages
