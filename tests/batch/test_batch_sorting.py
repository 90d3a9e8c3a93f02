from __future__ import annotations

import os
from pathlib import Path

import pytest
from batch_helpers import GREY, ImageFolder, read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.batch.objects import ObjectReader
from capsight.batch.records import ResultRecord
from capsight.batch.sorting import Sorter
from capsight.errors import BadRequest
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under root (results excluded) with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(("results.", "summary."))
    }


def test_copy_puts_each_image_in_its_label_folder(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="copy"))
    tree = _tree(out)
    # Three images share each name stem per label only by extension, so no renames are needed.
    assert len(tree) == len(image_folder.labels)
    for path, label in image_folder.labels.items():
        placed = out / label / Path(path).name
        assert placed.read_bytes() == Path(path).read_bytes()
        assert Path(path).exists()  # copy keeps the original
    for row in read_jsonl(out / "results.jsonl"):
        if row["error"]:
            assert row["sorted_to"] is None
        else:
            assert row["sorted_to"] == f"{row['label']}/{Path(row['path']).name}"
    assert not list(out.rglob("*.part"))


def test_move_takes_the_images_out_of_the_source(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    before = {p: Path(p).read_bytes() for p in image_folder.labels}
    out = tmp_path / "out"
    summary = run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="move"))
    for path, label in image_folder.labels.items():
        assert not Path(path).exists()
        assert (out / label / Path(path).name).read_bytes() == before[path]
    for path in image_folder.errors:
        assert Path(path).exists()  # error rows stay where they were
    # Moved images are still part of the results when the run is repeated.
    again = run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="move"))
    assert again.processed_this_run == 0
    assert again.counts == summary.counts and again.total == summary.total


def test_link_points_at_the_same_file(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="link"))
    for path, label in image_folder.labels.items():
        placed = out / label / Path(path).name
        assert os.path.samefile(placed, path)


def test_name_collisions_get_numbered_names(classifier: OnnxClassifier, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for sub in ("a", "b", "c"):
        (src / sub).mkdir(parents=True)
        (src / sub / "img.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    (src / "img_1.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    out = tmp_path / "out"
    run_batch([str(src)], out, classifier, BatchOptions(sort="copy"))
    placed = {
        Path(r["path"]).relative_to(src).as_posix(): r["sorted_to"] for r in read_jsonl(out / "results.jsonl")
    }
    assert placed == {
        "a/img.jpg": "closed/img.jpg",
        "b/img.jpg": "closed/img_1.jpg",
        "c/img.jpg": "closed/img_2.jpg",
        "img_1.jpg": "closed/img_1_1.jpg",  # its own name was already taken by b/img.jpg
    }
    assert sorted(p.name for p in (out / "closed").iterdir()) == [
        "img.jpg",
        "img_1.jpg",
        "img_1_1.jpg",
        "img_2.jpg",
    ]


def test_files_already_in_the_label_folder_are_not_overwritten(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    out = tmp_path / "out"
    (out / "opened").mkdir(parents=True)
    (out / "opened" / "x.jpg").write_bytes(b"someone else's file")
    run_batch([str(src)], out, classifier, BatchOptions(sort="copy"))
    assert (out / "opened" / "x.jpg").read_bytes() == b"someone else's file"
    assert (out / "opened" / "x_1.jpg").read_bytes() == (src / "x.jpg").read_bytes()


def test_unsure_images_go_to_review(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    unsure = image_folder.root / "grey.png"
    unsure.write_bytes(solid_image_bytes(GREY, "PNG"))
    out = tmp_path / "out"
    summary = run_batch(
        [str(image_folder.root)], out, classifier, BatchOptions(sort="copy", min_confidence=0.9)
    )
    rows = {r["path"]: r for r in read_jsonl(out / "results.jsonl")}
    grey = rows[str(unsure)]
    assert grey["confidence"] < 0.9 and grey["sorted_to"] == "_review/grey.png"
    assert (out / "_review" / "grey.png").read_bytes() == unsure.read_bytes()
    confident = [r for r in rows.values() if r["confidence"] is not None and r["confidence"] >= 0.9]
    assert len(confident) == len(image_folder.labels)
    assert all(r["sorted_to"].startswith(f"{r['label']}/") for r in confident)
    assert summary.review == 1
    assert summary.counts["opened"] == 4  # the unsure image still counts under its best label


def test_placement_interrupted_after_the_log_write_is_finished_on_rerun(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    image = src / "x.jpg"
    image.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    out = tmp_path / "out"
    out.mkdir()
    # A kill between "append to results.jsonl" and "copy the file" leaves exactly this.
    record = ResultRecord(
        path=str(image.resolve()),
        label="closed",
        confidence=1.0,
        probabilities={"background": 0.0, "closed": 1.0, "opened": 0.0},
        model="bottle-status",
        model_version="test-1",
        width=64,
        height=48,
        sorted_to="closed/x.jpg",
    )
    (out / "results.jsonl").write_text(record.to_json() + "\n")
    summary = run_batch([str(src)], out, classifier, BatchOptions(sort="copy"))
    assert summary.processed_this_run == 0
    assert (out / "closed" / "x.jpg").read_bytes() == image.read_bytes()
    assert not (out / "closed" / "x_1.jpg").exists()


def test_a_failed_placement_keeps_the_classification(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "closed").write_text("a file where the folder should be")
    sorter = Sorter(out, "copy", ObjectReader())
    src = tmp_path / "x.jpg"
    src.write_bytes(b"x")
    record = sorter.assign(ResultRecord(path=str(src), label="closed", confidence=1.0))
    sorter.place_all([record])
    assert "cannot copy" in caplog.text


def test_move_and_link_are_refused_for_s3_keys(classifier: OnnxClassifier, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("s3://bucket/a.jpg\n")
    for mode in ("move", "link"):
        with pytest.raises(BadRequest, match="--sort copy"):
            run_batch([str(listing)], tmp_path / "out", classifier, BatchOptions(sort=mode))


def test_long_and_dot_names_get_a_copy_that_can_be_created(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    """A legal 250-byte name left no room for the ".NAME.part" a copy goes through (ENAMETOOLONG),
    and an S3 key ending in "/.." pointed the copy at the output folder itself."""
    from capsight.batch.sorting import MAX_NAME_BYTES, _base_name

    photos = tmp_path / "photos"
    photos.mkdir()
    long_name = "p" * 246 + ".png"  # 250 bytes
    (photos / long_name).write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    summary = run_batch([str(photos)], tmp_path / "out", classifier, BatchOptions(sort="copy"))
    assert summary.errors == 0
    (copied,) = (tmp_path / "out" / "opened").iterdir()
    assert copied.suffix == ".png" and len(copied.name.encode()) <= MAX_NAME_BYTES
    assert copied.read_bytes() == (photos / long_name).read_bytes()
    assert _base_name("s3://b/x/..").startswith("image-") and _base_name("s3://b/x/") != _base_name(
        "s3://b/y/"
    )


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (BatchOptions(sort="copy"), BatchOptions(), "--sort copy, not no --sort"),
        (BatchOptions(), BatchOptions(sort="copy"), "no --sort, not --sort copy"),
        (BatchOptions(sort="copy"), BatchOptions(sort="move"), "--sort copy, not --sort move"),
        (
            BatchOptions(sort="copy", min_confidence=0.9),
            BatchOptions(sort="copy", min_confidence=0.5),
            "--sort copy --min-confidence 0.9, not --sort copy --min-confidence 0.5",
        ),
    ],
)
def test_a_rerun_with_other_sort_options_is_refused(
    image_folder: ImageFolder,
    classifier: OnnxClassifier,
    tmp_path: Path,
    first: BatchOptions,
    second: BatchOptions,
    words: str,
) -> None:
    """Half sorted one way, half another (or not at all) would look finished and be neither."""
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, first)
    (image_folder.root / "zz_new.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    before = _tree(out)
    with pytest.raises(BadRequest, match=words.replace("-", r"\-")):
        run_batch([str(image_folder.root)], out, classifier, second)
    assert _tree(out) == before  # nothing classified, copied or moved
    again = run_batch([str(image_folder.root)], out, classifier, first)  # the same options finish it
    assert again.processed_this_run == 1 and again.sort == first_sort(first)


def first_sort(options: BatchOptions) -> dict[str, object] | None:
    return None if options.sort is None else {"mode": options.sort, "min_confidence": options.min_confidence}


def test_a_folder_killed_before_its_summary_is_judged_by_its_results(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="link"))
    (out / "summary.json").unlink()  # what a SIGKILL before the first summary leaves
    with pytest.raises(BadRequest, match="--sort copy/move/link, not no --sort"):
        run_batch([str(image_folder.root)], out, classifier, BatchOptions())
    assert run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="link")).complete
