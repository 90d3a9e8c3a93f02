from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_helpers import ImageFolder, read_jsonl

from capsight.cli import main


def test_batch_command_writes_results_and_draws_progress(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["batch", str(image_folder.root), "--out", str(out), "--model", str(colour_model_dir)]
    code = main([*argv, "--batch-size", "2", "--workers", "2", "--threads", "0", "--sort", "link"])
    assert code == 0
    captured = capsys.readouterr()
    assert f"{image_folder.total} images" in captured.out and "2 errors" in captured.out
    assert "Skipped 1 file that is not an image (notes.txt)." in captured.out  # the folder's sidecar
    assert "img/s" in captured.err and f"{image_folder.total}/{image_folder.total}" in captured.err
    assert {p.name for p in out.iterdir()} == {
        "results.jsonl",
        "results.csv",
        "summary.json",
        "background",
        "closed",
        "opened",
    }
    assert json.loads((out / "summary.json").read_text())["total"] == image_folder.total


def test_batch_command_with_process_workers_and_no_progress(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = [
        "batch",
        str(image_folder.root / "**" / "*.png"),
        "--out",
        str(out),
        "--model",
        str(colour_model_dir),
    ]
    assert main([*argv, "--executor", "process", "--workers", "2", "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    assert sorted(r["label"] for r in read_jsonl(out / "results.jsonl") if r["label"]) == [
        "background",
        "closed",
        "opened",
    ]


def test_missing_model_is_a_clear_error(
    image_folder: ImageFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["batch", str(image_folder.root), "--out", str(tmp_path / "out"), "--model", str(tmp_path)])
    assert code == 2
    assert "No model.onnx" in capsys.readouterr().err


def test_min_confidence_without_sort_is_refused(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["batch", str(image_folder.root), "--out", str(tmp_path / "o"), "--model", str(colour_model_dir)]
    assert main([*argv, "--min-confidence", "0.5"]) == 2
    assert "add --sort" in capsys.readouterr().err


def test_min_confidence_must_be_a_probability(colour_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--sort", "copy", "--min-confidence", "2"]
        )
    assert exc.value.code == 2


def test_named_files_with_image_names_are_images_even_when_broken(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty or garbled photo named on the command line gets its own error row; it is never read
    as a list of paths (only files without an image suffix are lists)."""
    from api.helpers import jpeg

    good, empty, garbled = tmp_path / "good.jpg", tmp_path / "empty.jpg", tmp_path / "garbled.png"
    good.write_bytes(jpeg("closed"))
    empty.write_bytes(b"")
    garbled.write_text("hello\nnot png\n")
    out = tmp_path / "out"
    argv = ["batch", str(empty), str(good), str(garbled), "--out", str(out), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 0
    rows = {Path(r["path"]).name: r for r in read_jsonl(out / "results.jsonl")}
    assert set(rows) == {"good.jpg", "empty.jpg", "garbled.png"}
    assert rows["good.jpg"]["label"] == "closed"
    assert rows["empty.jpg"]["error"] and rows["garbled.png"]["error"]
    assert "3 images" in capsys.readouterr().out


def test_one_error_is_one_error_not_one_errors(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The walkthrough's first batch had one unreadable file: "26 images (...; 1 errors)", "1 errors,"
    on the progress line and "1 errors;" at the top of the report."""
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32), (200, 20, 20)).save(photos / "red.png")
    (photos / "notes.jpg").write_text("not a photo")
    out = tmp_path / "out"
    argv = ["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "; 1 error)" in captured.out and "errors)" not in captured.out
    assert ", 1 error, " in captured.err and "1 errors" not in captured.err
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert '<span id="errors">1</span> error;' in page
