"""Files of a folder or glob source that are no image are skipped and counted, not error rows.

A real photo folder holds sidecars (.xmp, .AAE, .json), notes and PDFs; each was an error row
("718 images ... 8 errors" on the shared bottle-photos folder for its NOTES.md, PROVENANCE.csv and
licence texts), which buried the real errors: truncated or empty photos. The rule is the one of zip
jobs and training: named like an image, or an image by its first bytes.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from batch_helpers import read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.cli import main
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes

SIDECARS = ("IMG_1.xmp", "IMG_1.AAE", "IMG_1.json", "NOTES.md", "manual.pdf", "LICENSES/cc-by.txt")


def _photo_folder(root: Path) -> Path:
    (root / "LICENSES").mkdir(parents=True)
    (root / "IMG_1.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "JPEG"))
    (root / "scan").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))  # an image by its bytes
    (root / "broken.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"])[:120])
    (root / "notes.jpg").write_text("not a photo")
    (root / "empty.png").write_bytes(b"")
    for name in SIDECARS:
        (root / name).write_text("<x:xmpmeta/>" if name.endswith(".xmp") else "text\n")
    (root / "manual.pdf").write_bytes(b"%PDF-1.7\n" + b"\0" * 100)
    return root


def _rows(out: Path) -> dict[str, dict[str, object]]:
    return {Path(str(r["path"])).name: r for r in read_jsonl(out / "results.jsonl")}


def test_a_folder_skips_its_non_images_and_says_how_many(classifier: OnnxClassifier, tmp_path: Path) -> None:
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    summary = run_batch([str(photos)], out, classifier, BatchOptions(workers=1))
    rows = _rows(out)
    assert set(rows) == {"IMG_1.jpg", "scan", "broken.jpg", "notes.jpg", "empty.png"}
    assert rows["IMG_1.jpg"]["label"] == "opened" and rows["scan"]["label"] == "closed"
    assert {name for name, r in rows.items() if r["error"]} == {"broken.jpg", "notes.jpg", "empty.png"}
    assert (summary.total, summary.errors) == (5, 3)
    assert summary.skipped["count"] == len(SIDECARS)
    assert {Path(p).name for p in summary.skipped["examples"]} <= {Path(n).name for n in SIDECARS}
    assert len(summary.skipped["examples"]) == 5
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["skipped"] == summary.skipped

    # Resuming with the same --out: nothing classified again, the skip still reported.
    again = run_batch([str(photos)], out, classifier, BatchOptions(workers=1))
    assert (again.total, again.errors, again.resumed, again.processed_this_run) == (5, 3, 5, 0)
    assert again.skipped == summary.skipped


def test_a_glob_skips_non_images_and_sort_leaves_them_alone(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    summary = run_batch([str(photos / "*")], out, classifier, BatchOptions(workers=1, sort="copy"))
    assert set(_rows(out)) == {"IMG_1.jpg", "scan", "broken.jpg", "notes.jpg", "empty.png"}
    # "*" matches LICENSES/, read as the shell's expansion passes it: a folder (test_batch_glob_folders.py)
    assert summary.skipped["count"] == len(SIDECARS)
    assert (out / "opened" / "IMG_1.jpg").is_file() and (out / "closed" / "scan").is_file()
    assert all(Path(p).exists() for p in summary.skipped["examples"])  # untouched, left where they were


def test_named_files_are_never_skipped(classifier: OnnxClassifier, tmp_path: Path) -> None:
    """A path the user names (a line of a list file) is what they asked for: an error row says why."""
    _photo_folder(tmp_path / "photos")
    listing = tmp_path / "list.txt"
    listing.write_text("photos/IMG_1.jpg\nphotos/IMG_1.xmp\n")
    out = tmp_path / "out"
    summary = run_batch([str(listing)], out, classifier, BatchOptions(workers=1))
    rows = _rows(out)
    assert rows["IMG_1.jpg"]["label"] == "opened"
    assert str(rows["IMG_1.xmp"]["error"]).startswith("InvalidImage")
    assert summary.skipped == {"count": 0, "examples": []}


def test_an_unreadable_file_or_pipe_in_a_folder_stays_an_error_row(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """Neither can be read to sniff, so neither is skipped: its error row says what is wrong with it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    os.mkfifo(photos / "pipe")  # opened, it would wait for a writer for ever
    locked = photos / "locked"
    locked.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    locked.chmod(0)
    unreadable = {"pipe"} if os.geteuid() == 0 else {"pipe", "locked"}  # root reads every file
    out = tmp_path / "out"
    try:
        summary = run_batch([str(photos)], out, classifier, BatchOptions(workers=1))
    finally:
        locked.chmod(0o600)
    rows = _rows(out)
    assert {name for name, r in rows.items() if r["error"]} == unreadable
    assert (summary.errors, summary.skipped["count"]) == (len(unreadable), 0)


def test_the_command_names_what_it_skipped(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "IMG_1.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "JPEG"))
    (photos / "IMG_1.xmp").write_text("<x:xmpmeta/>")
    (photos / "NOTES.md").write_text("notes\n")
    argv = ["batch", str(photos), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "1 image (" in printed and "0 errors" in printed
    assert "Skipped 2 files that are not images (IMG_1.xmp, NOTES.md)." in printed


def test_a_rerun_into_an_older_out_drops_the_error_rows_of_files_it_now_skips(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """An --out written before files that are no image were skipped holds an error row for each; the
    rerun said "8 errors" beside "Skipped 8 files" and kept them in results.csv. The log keeps them
    (append-only); the CSV and summary, rebuilt from it, leave out what this run skips."""
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    listing = tmp_path / "list.txt"  # a named file is an error row: the older run's rows for sidecars
    listing.write_text("photos/IMG_1.jpg\nphotos/NOTES.md\nphotos/IMG_1.xmp\n")
    assert run_batch([str(listing)], out, classifier, BatchOptions(workers=1)).errors == 2
    summary = run_batch([str(photos)], out, classifier, BatchOptions(workers=1))
    assert (summary.total, summary.errors, summary.skipped["count"]) == (5, 3, len(SIDECARS))
    with (out / "results.csv").open(newline="") as fh:
        names = {Path(row["path"]).name for row in csv.DictReader(fh)}
    assert names == {"IMG_1.jpg", "scan", "broken.jpg", "notes.jpg", "empty.png"}
    assert json.loads((out / "summary.json").read_text())["errors"] == 3
