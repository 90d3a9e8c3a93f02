"""An inbox folder: files are sorted away, and later a new file arrives under a name used before.

Results are recorded per path, so a rerun must tell "this path's image is done" from "this path now
holds another image": the second must be classified (and sorted), the first still skipped.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from batch_helpers import read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photo(path: Path, label: str, size: tuple[int, int] = (64, 48)) -> bytes:
    data = solid_image_bytes(LABEL_COLOURS[label], "PNG", size=size)
    path.write_bytes(data)
    return data


def test_move_classifies_a_new_file_under_a_name_used_before(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    first = _photo(inbox / "IMG_0001.png", "closed")
    run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))
    assert (out / "closed" / "IMG_0001.png").read_bytes() == first

    second = _photo(inbox / "IMG_0001.png", "opened", size=(70, 50))  # the camera counter wrapped
    summary = run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))

    assert summary.processed_this_run == 1
    assert not (inbox / "IMG_0001.png").exists()
    assert (out / "opened" / "IMG_0001.png").read_bytes() == second
    assert (out / "closed" / "IMG_0001.png").read_bytes() == first  # the earlier image is untouched
    rows = read_jsonl(out / "results.jsonl")
    assert [(r["label"], r["sorted_to"]) for r in rows] == [
        ("closed", "closed/IMG_0001.png"),
        ("opened", "opened/IMG_0001.png"),
    ]
    assert summary.total == 2 and summary.counts["closed"] == 1 and summary.counts["opened"] == 1

    again = run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))
    assert again.processed_this_run == 0 and again.total == 2


def test_a_new_file_is_not_moved_into_the_slot_of_an_emptied_label_folder(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """The user took the sorted photos away; an old record must not move the newcomer under its label."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    _photo(inbox / "a.png", "closed")
    run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))
    (out / "closed" / "a.png").unlink()

    second = _photo(inbox / "a.png", "background", size=(72, 40))
    summary = run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))

    assert summary.processed_this_run == 1
    assert not (out / "closed" / "a.png").exists()
    assert (out / "background" / "a.png").read_bytes() == second


def test_an_unchanged_image_is_skipped_and_an_edited_one_classified_again(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    src, out = tmp_path / "photos", tmp_path / "out"
    src.mkdir()
    _photo(src / "keep.png", "closed")
    edited = src / "edit.png"
    _photo(edited, "closed")
    run_batch([str(src)], out, classifier)
    assert run_batch([str(src)], out, classifier).processed_this_run == 0

    _photo(edited, "opened", size=(66, 48))
    os.utime(edited, ns=(1, 1))  # an editor that keeps the old time still changes the size
    summary = run_batch([str(src)], out, classifier)

    assert summary.processed_this_run == 1
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        rows = [(Path(r["path"]).name, r["label"]) for r in csv.DictReader(fh)]
    assert sorted(rows) == [("edit.png", "opened"), ("keep.png", "closed")]  # one row per image
    assert summary.total == 2 and summary.counts["opened"] == 1


def test_a_touched_but_unchanged_photo_is_not_classified_or_sorted_again(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """New modification times, same bytes (a fresh git clone, ``cp`` without ``-p``, ``touch``)."""
    src, out = tmp_path / "photos", tmp_path / "out"
    src.mkdir()
    for name, label in (("a.png", "closed"), ("b.png", "opened")):
        _photo(src / name, label)
    run_batch([str(src)], out, classifier, BatchOptions(sort="copy"))
    for photo in src.iterdir():
        os.utime(photo, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))

    summary = run_batch([str(src)], out, classifier, BatchOptions(sort="copy"))

    assert summary.processed_this_run == 0 and summary.total == 2
    assert sorted(p.name for p in out.glob("*/*.png")) == ["a.png", "b.png"]  # no a_1.png copies
