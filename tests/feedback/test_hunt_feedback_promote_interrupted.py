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
