"""A Ctrl-C or SIGTERM (taken as KeyboardInterrupt by the CLI) that lands just after the served
folder moved to MODEL_DIR.previous, before the candidate took its place: the served model was only
put back when the interrupt came during the second rename, so one right after the first left no
MODEL_DIR at all (servers could not start or reload). It is put back, and the interrupt still
ends the command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import capsight.feedback.promote as promote_module
from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model


def test_an_interrupt_between_the_renames_leaves_the_served_model_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    real_replace = os.replace
    calls: list[str] = []

    def interrupted_after_first(src: object, dst: object) -> None:
        real_replace(src, dst)  # type: ignore[arg-type]
        calls.append(str(dst))
        if len(calls) == 1:
            raise KeyboardInterrupt  # the signal arrives as the first rename returns

    monkeypatch.setattr(promote_module.os, "replace", interrupted_after_first)
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 130
    assert "capsight: interrupted" in capsys.readouterr().err
    assert load_metadata(served).version == "v1"
    assert not list(tmp_path.glob(".served.promote-*"))


def test_an_interrupt_while_a_folder_is_deleted_leaves_both_models_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rollback promotes MODEL_DIR.previous itself: that folder was deleted file by file to
    make room before the swap, so an interrupt then left the very model being rolled back to half
    gone (and its copy in the staging folder was cleaned up). Whatever a promotion deletes, an
    interrupt part way through leaves the served model and the kept one whole."""
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 0
    previous = tmp_path / "served.previous"
    real_rmtree = promote_module.shutil.rmtree
    interrupted: list[Path] = []

    def interrupted_rmtree(path: object, *args: object, **kwargs: object) -> None:
        folder = Path(str(path))
        if not interrupted and (folder / "model.onnx").is_file():
            interrupted.append(folder)
            (folder / "model.onnx").unlink()  # part of the way through
            raise KeyboardInterrupt
        real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(promote_module.shutil, "rmtree", interrupted_rmtree)
    capsys.readouterr()
    assert main(["promote", str(previous), "--to", str(served), "--force"]) == 130
    monkeypatch.undo()
    assert interrupted  # the interrupt did land inside a deletion
    versions = {load_metadata(folder).version for folder in (served, previous)}
    assert versions == {"v1", "v2"}
    assert (served / "model.onnx").is_file() and (previous / "model.onnx").is_file()
    assert main(["promote", str(previous), "--to", str(served), "--force"]) == 0
