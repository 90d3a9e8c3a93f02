"""What ``capsight batch`` does with result files already in ``--out``.

Found in review: a results.csv (or summary.json, results.jsonl) that no capsight run into that folder
wrote (a spreadsheet of one's own, the CSV of a run whose results.jsonl was deleted) was silently
replaced; and a run into an --out that held another folder's results mixed both into results.csv and
summary.json while its closing line counted them as this run's images.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from batch_helpers import ImageFolder, make_image_folder

from capsight.cli import main


def _batch(source: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return ["batch", str(source), "--out", str(out), "--model", str(model), "--no-progress", *extra]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("results.csv", "photo,verdict\r\nholiday.jpg,keep\r\n"),
        ("summary.json", '{"photos": 412, "checked_by": "anna"}\n'),
        ("results.jsonl", '{"photo": "holiday.jpg", "verdict": "keep"}\n'),
    ],
)
def test_a_result_file_capsight_did_not_write_is_not_replaced(
    name: str,
    text: str,
    image_folder: ImageFolder,
    colour_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(text.encode())

    assert main(_batch(image_folder.root, out, colour_model_dir)) == 2
    err = capsys.readouterr().err
    assert str(out / name) in err and "--overwrite" in err, err
    assert (out / name).read_bytes() == text.encode()  # untouched
    assert sorted(p.name for p in out.iterdir()) == [name]  # and nothing written beside it

    assert main(_batch(image_folder.root, out, colour_model_dir, "--overwrite")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] == image_folder.total  # a result set of this run only
    assert (out / "results.csv").read_text().startswith("path,label,confidence,")


def test_a_results_csv_whose_results_jsonl_is_gone_is_not_replaced(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its rows exist nowhere else: a rerun rebuilt it from an empty log, with the new images only."""
    out = tmp_path / "out"
    assert main(_batch(image_folder.root, out, colour_model_dir)) == 0
    (out / "results.jsonl").unlink()
    earlier = (out / "results.csv").read_bytes()
    other = make_image_folder(tmp_path / "other")
    capsys.readouterr()

    assert main(_batch(other.root, out, colour_model_dir)) == 2
    assert str(out / "results.csv") in capsys.readouterr().err
    assert (out / "results.csv").read_bytes() == earlier


def test_an_empty_run_then_a_full_one_into_the_same_folder_is_no_conflict(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path
) -> None:
    """A first run over an empty inbox writes a header-only results.csv: that is capsight's own."""
    empty, out = tmp_path / "inbox", tmp_path / "out"
    empty.mkdir()
    assert main(_batch(empty, out, colour_model_dir)) == 0
    assert main(_batch(image_folder.root, out, colour_model_dir)) == 0
    assert json.loads((out / "summary.json").read_text())["total"] == image_folder.total


def test_results_of_another_folder_are_kept_and_the_closing_line_says_so(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_batch(image_folder.root, out, colour_model_dir)) == 0
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(next(p for p in image_folder.labels if p.endswith(".png")), other / "one.png")
    capsys.readouterr()

    assert main(_batch(other, out, colour_model_dir)) == 0
    printed = capsys.readouterr().out
    both = image_folder.total + 1
    line = f"results.csv holds {both} images: 1 from these sources, {image_folder.total} from earlier runs"
    assert line in printed, printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] == both and summary["other_sources"] == image_folder.total


def test_an_inbox_emptied_by_sort_move_is_not_called_another_source(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The inbox workflow: each run's photos leave the inbox for their label folders; the next run
    over the refilled inbox keeps their rows, which are no other folder's."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    good = [p for p in image_folder.labels if p.endswith(".png")]
    shutil.copy(good[0], inbox / "first.png")
    assert main(_batch(inbox, out, colour_model_dir, "--sort", "move")) == 0
    assert not (inbox / "first.png").exists()
    shutil.copy(good[1], inbox / "second.png")
    capsys.readouterr()

    assert main(_batch(inbox, out, colour_model_dir, "--sort", "move")) == 0
    printed = capsys.readouterr().out
    assert "other sources" not in printed, printed
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["other_sources"]) == (2, 0)
