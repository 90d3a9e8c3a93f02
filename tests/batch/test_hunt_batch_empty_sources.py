"""``capsight batch`` on sources that hold no file says so, instead of crediting an earlier run."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("source", ["empty", "empty/*.jpg"])
def test_a_first_run_on_no_files_says_there_were_none(
    source: str, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty inbox, or a glob with a typo, read "all from an earlier run, nothing left to
    classify" on a fresh --out: the user went looking for an earlier run that never happened."""
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / source), "--out", str(out), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "earlier run" not in printed
    assert "nothing to classify: the sources hold no files" in printed


def test_a_rerun_with_everything_done_still_says_so(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from model_factory import solid_image_bytes

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(solid_image_bytes((230, 20, 20)))
    argv = ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 0
    capsys.readouterr()
    assert main([*argv, "--no-progress"]) == 0
    assert "all from an earlier run, nothing left to classify" in capsys.readouterr().out


def test_sources_of_files_that_are_no_images_do_not_read_as_empty(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of notes and PDFs (the wrong folder) closed with "the sources hold no files" right
    above "Skipped 4 files that are not images": the first line contradicted the second."""
    (tmp_path / "docs").mkdir()
    for name in ("a.txt", "b.txt", "c.pdf"):
        (tmp_path / "docs" / name).write_text("not a photo\n")
    argv = ["batch", str(tmp_path / "docs"), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 0  # as an empty inbox: there was no image to fail
    printed = capsys.readouterr().out
    assert "hold no files" not in printed
    assert "nothing to classify: the sources hold no image (3 files that are not images)" in printed
