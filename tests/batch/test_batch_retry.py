"""``--retry-errors``: a rerun classifies again the images that failed, once the user has fixed them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from batch_helpers import ImageFolder, read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.batch.resultlog import parse_log
from capsight.cli import main
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _fix_broken(folder: ImageFolder) -> str:
    """Replace the truncated JPEG by a whole one of a known label; returns its path."""
    broken = str(folder.root / "broken.jpg")
    Path(broken).write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    return broken


def test_a_plain_rerun_keeps_the_errors_of_unchanged_files(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier)
    summary = run_batch([str(image_folder.root)], out, classifier)
    assert summary.processed_this_run == 0
    assert summary.errors == len(image_folder.errors)


def test_a_plain_rerun_tries_a_failed_file_again_once_it_changed(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """An inbox photo listed while it was still being copied failed as truncated; it stayed an error
    on every rerun, and in the inbox, until the user thought of --retry-errors."""
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier)
    broken = _fix_broken(image_folder)
    summary = run_batch([str(image_folder.root)], out, classifier)
    assert summary.processed_this_run == 1  # only the changed one; the other errors are unchanged
    assert summary.errors == len(image_folder.errors) - 1
    with (out / "results.csv").open(newline="") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    assert rows[broken]["label"] == "closed" and rows[broken]["error"] == ""


def test_retry_errors_classifies_the_fixed_image_and_retries_only_errors(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = run_batch([str(image_folder.root)], out, classifier)
    assert first.errors == 2  # broken.jpg, empty.png (nested/notes.txt is skipped, no error row)
    broken = _fix_broken(image_folder)
    summary = run_batch([str(image_folder.root)], out, classifier, BatchOptions(retry_errors=True))

    assert summary.processed_this_run == len(image_folder.errors)  # only the two that failed
    assert summary.resumed == len(image_folder.labels)
    assert summary.errors == 1 and summary.classified == len(image_folder.labels) + 1
    assert summary.counts["closed"] == first.counts["closed"] + 1
    assert summary.complete and summary.pending == 0

    with (out / "results.csv").open(newline="") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    assert len(rows) == image_folder.total  # one row per image, the retried one replaced
    assert rows[broken]["label"] == "closed" and rows[broken]["error"] == ""
    saved = json.loads((out / "summary.json").read_text())
    assert saved["errors"] == 1 and saved["counts"]["closed"] == summary.counts["closed"]

    # The log keeps the history (append-only); reading it back gives the newer result.
    lines = read_jsonl(out / "results.jsonl")
    assert [line["path"] for line in lines].count(broken) == 2
    records, _ = parse_log((out / "results.jsonl").read_bytes())
    assert len(records) == image_folder.total
    assert next(r for r in records if r.path == broken).label == "closed"


def test_parse_log_lets_a_later_result_replace_an_error_but_never_a_success() -> None:
    error = '{"path": "/a.jpg", "label": null, "confidence": null, "error": "InvalidImage: x"}\n'
    retried = '{"path": "/a.jpg", "label": "opened", "confidence": 0.8}\n'
    ok = '{"path": "/b.jpg", "label": "closed", "confidence": 0.9}\n'
    later = '{"path": "/b.jpg", "label": "opened", "confidence": 0.7}\n'
    records, _ = parse_log((error + ok + retried + later).encode())
    assert [(r.path, r.label) for r in records] == [("/a.jpg", "opened"), ("/b.jpg", "closed")]


@pytest.mark.slow
def test_cli_hints_at_retry_errors_and_the_flag_works(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [
        "batch",
        str(image_folder.root),
        "--out",
        str(out),
        "--model",
        str(colour_model_dir),
        "--no-progress",
    ]
    assert main(args) == 0
    hint = capsys.readouterr().out
    assert "rerun with the same --out to try those you" in hint and "add --retry-errors" in hint
    _fix_broken(image_folder)
    assert main([*args, "--retry-errors"]) == 0
    captured = capsys.readouterr()
    assert "1 error)" in captured.out  # empty.png; broken.jpg was fixed


def test_a_retried_image_is_sorted_like_any_other(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="copy"))
    assert not (out / "closed" / "broken.jpg").exists()
    _fix_broken(image_folder)
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="copy", retry_errors=True))
    assert (out / "closed" / "broken.jpg").read_bytes() == (image_folder.root / "broken.jpg").read_bytes()


def test_a_rerun_with_nothing_left_says_so_instead_of_zero_images_per_second(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["batch", str(image_folder.root), "--out", str(out), "--model", str(colour_model_dir)]
    args.append("--no-progress")
    assert main(args) == 0
    assert "images/s" in capsys.readouterr().out
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "nothing left to classify" in again and "images/s" not in again
