"""``capsight promote`` exits 1 for "not better (nothing changed)": a script reads that as a verdict.
A promotion the file system refused exited 1 as well (main's one line for an OSError), so a
deploy script took "could not write the served folder" for "the candidate lost" and went on."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model


def test_a_served_folder_whose_parent_is_missing_is_an_error_not_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    target = tmp_path / "models" / "bottle"
    assert main(["promote", str(candidate), "--to", str(target), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and str(tmp_path / "models") in err
    assert ".promote-" not in err  # the staging folder is ours, not something the user can act on
    assert not (tmp_path / "models").exists()


def test_a_copy_that_fails_is_an_error_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    (candidate / "notes.txt").symlink_to(tmp_path / "gone")  # copytree cannot copy what it points to
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 2
    assert capsys.readouterr().err.startswith("capsight: error: ")
    assert load_metadata(served).version == "v1"
    assert not (tmp_path / "served.previous").exists()
    assert not list(tmp_path.glob(".served.promote-*"))
