"""A --sort run whose copies failed (a full disk, a label folder it cannot write) exited 0 with a
closing line and summary.json that said nothing of it, while results.csv named a sorted_to for
every image: only the warnings, lost among a long run's, told that the label folders were empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_helpers import ImageFolder

from capsight.cli import main


def test_images_left_out_of_their_label_folders_are_counted_and_said(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "closed").write_bytes(b"")  # a file where the label folder goes: every copy there fails
    closed = sum(1 for label in image_folder.labels.values() if label == "closed")
    assert closed > 0
    args = ["batch", str(image_folder.root), "--out", str(out), "--model", str(colour_model_dir)]

    assert main([*args, "--sort", "copy", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unsorted"] == closed
    assert f"{closed} of them are not in their label folder" in printed, printed

    (out / "closed").unlink()  # the cause fixed: a rerun places them and says nothing more
    assert main([*args, "--sort", "copy", "--no-progress"]) == 0
    assert "label folder" not in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["unsorted"] == 0
    assert len(list((out / "closed").iterdir())) == closed


def test_a_run_without_sort_has_no_unsorted_count(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["batch", str(image_folder.root), "--out", str(out), "--model", str(colour_model_dir)]
    assert main([*args, "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["unsorted"] is None
