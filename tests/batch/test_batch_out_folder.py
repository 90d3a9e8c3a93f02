"""Where the --out folder sits relative to the photos, and what a run leaves pending.

Found by an adversarial review: an --out folder that held the photos (``--out .`` inside the photo
folder, or the photo folder itself) silently dropped them, and summary.json could say "complete"
with images still unclassified.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photos(root: Path, n_per_folder: int = 2) -> list[Path]:
    made = []
    for folder in ("d0", "d1"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_folder):
            path = root / folder / f"{i}.png"
            path.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
            made.append(path)
    top = root / "top.png"
    top.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    return [*made, top]


def test_an_out_folder_that_holds_the_photos_still_reads_them(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = _photos(tmp_path / "work" / "photos")
    summary = run_batch([str(tmp_path / "work" / "photos")], tmp_path / "work", classifier)
    assert summary.total == len(photos) == 5 and summary.complete


def test_the_photo_folder_as_its_own_out_folder_never_reads_its_outputs(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = _photos(tmp_path / "same")
    first = run_batch([str(tmp_path / "same")], tmp_path / "same", classifier, BatchOptions(sort="copy"))
    assert first.total == len(photos) and first.errors == 0
    again = run_batch([str(tmp_path / "same")], tmp_path / "same", classifier, BatchOptions(sort="copy"))
    # results.csv, summary.json and the sorted copies are outputs, not new input images
    assert (again.total, again.errors, again.processed_this_run) == (len(photos), 0, 0)


def test_pending_counts_the_current_sources_not_old_records(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """Records of images from another folder (an earlier run into the same --out) must not hide the
    images of this one that are not done yet."""
    old, new = tmp_path / "old", tmp_path / "new"
    _photos(old, n_per_folder=4)
    run_batch([str(old)], tmp_path / "out", classifier)  # 9 records of other images
    _photos(new, n_per_folder=4)
    stop = threading.Event()
    stop.set()  # cancelled before it starts: nothing of "new" is done
    summary = run_batch([str(new)], tmp_path / "out", classifier, cancel_event=stop)
    assert not summary.complete
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["complete"] is False and written["pending"] == 9


def test_a_file_name_that_is_not_utf8_is_classified_and_resumed(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes on a UTF-8 system: a surrogate in Python
    (photos / name).write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    shutil.copy(photos / name, photos / "plain.png")
    first = run_batch([str(photos)], tmp_path / "out", classifier)
    assert (first.total, first.errors) == (2, 0)
    again = run_batch([str(photos)], tmp_path / "out", classifier)
    assert again.processed_this_run == 0 and again.resumed == 2  # the odd name is found on record


def test_a_carriage_return_in_a_file_name_keeps_the_csv_row_whole(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    import csv

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cr\rret.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    run_batch([str(photos)], tmp_path / "out", classifier)
    with open(tmp_path / "out" / "results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 2 and len(rows[1]) == len(rows[0])
    assert rows[1][0].endswith("cr\rret.png")
