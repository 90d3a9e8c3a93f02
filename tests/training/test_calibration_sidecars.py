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


def test_folder_calibration_slots_go_to_photos_not_sidecars(tmp_path: Path) -> None:
    # Without a split file the folder is shuffled and cut in two; each .xmp beside a photo took a
    # calibration or check slot, so a folder of 6 photos and 6 sidecars calibrated on about 3 photos.
    from capsight.training.calibration import select_images

    data = make_dataset(tmp_path / "data", per_class=2)
    for photo in [p for p in data.glob("*/*") if p.is_file()]:
        (photo.parent / f"{photo.stem}.xmp").write_text("<x:xmpmeta/>\n")
    sets = select_images(data, None, calibration=6, held_out=6)
    chosen = [s.relpath for s in (*sets.calibration, *sets.held_out)]
    assert not [name for name in chosen if name.endswith(".xmp")], chosen
    assert len(sets.calibration) == 3 and len(sets.held_out) == 3
