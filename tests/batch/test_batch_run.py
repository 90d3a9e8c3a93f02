from __future__ import annotations

import csv
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from batch_helpers import ImageFolder, image_size, read_jsonl

from capsight.batch import BatchOptions, BatchProgress, run_batch
from capsight.batch.resultlog import ResultLog, parse_log
from capsight.errors import BadRequest
from capsight.inference import OnnxClassifier
from model_factory import BOTTLE_LABELS, LABEL_COLOURS, build_colour_model, solid_image_bytes


def test_folder_gives_labels_error_rows_and_summary(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    summary = run_batch([str(image_folder.root)], out, classifier, BatchOptions(batch_size=4))

    rows = read_jsonl(out / "results.jsonl")
    assert len(rows) == image_folder.total
    by_path = {r["path"]: r for r in rows}
    for path, label in image_folder.labels.items():
        row = by_path[path]
        assert row["label"] == label
        assert row["error"] is None
        assert row["confidence"] == max(row["probabilities"].values()) > 0.9
        assert set(row["probabilities"]) == set(BOTTLE_LABELS)
        assert (row["width"], row["height"]) == image_size(label)
        assert (row["model"], row["model_version"]) == ("bottle-status", "test-1")
    for path, kind in image_folder.errors.items():
        row = by_path[path]
        assert row["error"].startswith(f"{kind}: ")
        assert row["label"] is None and row["confidence"] is None and row["width"] is None

    assert summary.total == summary.classified + summary.errors == image_folder.total
    assert summary.errors == len(image_folder.errors)
    assert summary.counts == {label: 3 for label in BOTTLE_LABELS}
    assert summary.complete and summary.pending == 0 and summary.processed_this_run == image_folder.total
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["counts"] == summary.counts
    assert on_disk["errors"] == summary.errors
    assert on_disk["total"] == image_folder.total
    assert on_disk["model"] == {"name": "bottle-status", "version": "test-1"}
    assert on_disk["elapsed_seconds"] > 0 and on_disk["images_per_second"] > 0


def test_csv_has_one_probability_column_per_label(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier)
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "path",
        "label",
        "confidence",
        "prob_background",
        "prob_closed",
        "prob_opened",
        "model",
        "model_version",
        "width",
        "height",
        "error",
        "sorted_to",
    ]
    jsonl = {r["path"]: r for r in read_jsonl(out / "results.jsonl")}
    assert [r["path"] for r in rows] == list(jsonl)  # same records, same order
    for row in rows:
        record = jsonl[row["path"]]
        if record["error"]:
            assert row["label"] == "" and row["prob_closed"] == "" and row["error"] == record["error"]
        else:
            assert row["label"] == record["label"]
            assert float(row[f"prob_{row['label']}"]) == record["confidence"] == float(row["confidence"])


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_thread_and_process_workers_agree(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path, executor: str
) -> None:
    reference = tmp_path / "reference"
    run_batch([str(image_folder.root)], reference, classifier, BatchOptions(batch_size=1, workers=1))
    out = tmp_path / executor
    run_batch(
        [str(image_folder.root)],
        out,
        classifier,
        BatchOptions(batch_size=3, workers=2, executor=executor),  # type: ignore[arg-type]
    )
    assert (out / "results.jsonl").read_text() == (reference / "results.jsonl").read_text()


def test_glob_and_list_file_sources(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{image_folder.root / 'closed.jpg'}\nimages/gone.jpg\n")
    out = tmp_path / "out"
    summary = run_batch([str(image_folder.root / "*.jpg"), str(listing)], out, classifier)
    rows = {Path(r["path"]).name: r for r in read_jsonl(out / "results.jsonl")}
    # The glob is not recursive without **, and closed.jpg from the list is not classified twice.
    assert sorted(rows) == ["background.jpg", "broken.jpg", "closed.jpg", "gone.jpg", "opened.jpg"]
    assert rows["closed.jpg"]["label"] == "closed"
    assert rows["gone.jpg"]["error"].startswith("FileNotFoundError: ")
    assert summary.errors == 2 and summary.total == 5


def test_progress_is_reported_per_batch(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    seen: list[BatchProgress] = []
    run_batch([str(image_folder.root)], tmp_path / "out", classifier, BatchOptions(batch_size=5), seen.append)
    assert [p.done for p in seen] == [0, 5, 10, image_folder.total]
    assert all(p.total == image_folder.total and p.resumed == 0 for p in seen)
    assert seen[-1].errors == len(image_folder.errors)


def test_cancel_stops_between_batches_and_a_rerun_finishes(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cancel = threading.Event()

    def cancel_after_first(progress: BatchProgress) -> None:
        if progress.done >= 4:
            cancel.set()

    summary = run_batch(
        [str(image_folder.root)], out, classifier, BatchOptions(batch_size=4), cancel_after_first, cancel
    )
    assert not summary.complete and summary.pending == image_folder.total - 4
    assert len(read_jsonl(out / "results.jsonl")) == 4
    assert json.loads((out / "summary.json").read_text())["complete"] is False

    seen: list[BatchProgress] = []
    again = run_batch([str(image_folder.root)], out, classifier, BatchOptions(batch_size=4), seen.append)
    assert again.complete and again.resumed == 4 and again.processed_this_run == image_folder.total - 4
    assert seen[0].done == 4 and seen[0].resumed == 4
    whole = tmp_path / "whole"
    run_batch([str(image_folder.root)], whole, classifier)
    assert (out / "results.jsonl").read_text() == (whole / "results.jsonl").read_text()
    assert (out / "results.csv").read_text() == (whole / "results.csv").read_text()


def test_cancel_before_start_classifies_nothing(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    cancel = threading.Event()
    cancel.set()
    summary = run_batch([str(image_folder.root)], tmp_path / "out", classifier, cancel_event=cancel)
    assert summary.processed_this_run == 0 and summary.pending == image_folder.total
    assert not summary.complete


def test_rerun_with_new_files_classifies_only_those(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier)
    (image_folder.root / "zz_new.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    summary = run_batch([str(image_folder.root)], out, classifier)
    assert summary.processed_this_run == 1 and summary.resumed == image_folder.total
    assert summary.total == image_folder.total + 1 and summary.counts["opened"] == 4


def test_torn_last_line_is_dropped_and_that_image_redone(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    run_batch([str(image_folder.root)], whole, classifier)
    lines = (whole / "results.jsonl").read_text().splitlines(keepends=True)
    out = tmp_path / "out"
    out.mkdir()
    # What a kill in the middle of a write leaves: five whole lines and half of the sixth.
    (out / "results.jsonl").write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    summary = run_batch([str(image_folder.root)], out, classifier)
    assert summary.resumed == 5
    assert (out / "results.jsonl").read_text() == (whole / "results.jsonl").read_text()


def test_parse_log_skips_unreadable_lines_and_duplicates() -> None:
    good = '{"path": "/a.jpg", "label": "closed", "confidence": 0.9}\n'
    data = (good + "not json\n" + '{"label": "no path"}\n' + good + '{"path": "/b.jpg"').encode()
    records, end = parse_log(data)
    assert [r.path for r in records] == ["/a.jpg"]
    assert end == data.rfind(b"\n") + 1


def test_result_log_refuses_appends_after_close(tmp_path: Path) -> None:
    log = ResultLog(tmp_path / "results.jsonl")
    log.close()
    from capsight.batch.records import ResultRecord

    with pytest.raises(RuntimeError, match="closed"):
        log.append([ResultRecord(path="/x.jpg", label="closed", confidence=1.0)])


def test_resuming_with_another_model_is_refused(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root / "closed.jpg")], out, classifier)
    other_dir = build_colour_model(tmp_path / "other", version="test-2")
    with pytest.raises(BadRequest, match="test-1"):
        run_batch([str(image_folder.root)], out, OnnxClassifier(other_dir, intra_op_threads=1))
    assert len(read_jsonl(out / "results.jsonl")) == 1  # nothing of the other model was mixed in


def test_empty_source_writes_empty_outputs(classifier: OnnxClassifier, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    summary = run_batch([str(tmp_path / "empty")], tmp_path / "out", classifier)
    assert summary.total == 0 and summary.complete
    assert (tmp_path / "out" / "results.csv").read_text().startswith("path,label,")
    assert (tmp_path / "out" / "results.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 0}, "batch-size"),
        ({"workers": -1}, "workers"),
        ({"executor": "fork"}, "executor"),
        ({"sort": "shuffle"}, "sort"),
        ({"min_confidence": 0.5}, "add --sort"),
        ({"sort": "copy", "min_confidence": 1.5}, "between 0 and 1"),
        ({"engine": "spark"}, "engine"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        replace(BatchOptions(), **changes)  # type: ignore[arg-type]
