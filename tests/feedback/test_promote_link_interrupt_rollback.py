"""An interrupt (Ctrl-C, SIGTERM) that lands in a promotion through a symlink after ``LINK.previous``
was re-pointed at the served folder, before ``LINK`` itself was: ``LINK.previous`` was left naming the
served model, so the rollback (promote ``LINK.previous`` back) restored the model already served;
a folder an earlier promotion had made, that it named, was then deleted by the next promotion as
one nothing names. It is pointed back where it was, as a folder set aside is put back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import capsight.feedback.promote as promote_module
from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model


def test_an_interrupt_after_previous_moved_keeps_the_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_colour_model(tmp_path / "releases" / "v1", version="v1")
    link = tmp_path / "current"
    link.symlink_to(Path("releases") / "v1")
    v2 = build_colour_model(tmp_path / "v2", version="v2")
    assert main(["promote", str(v2), "--to", str(link), "--force"]) == 0
    previous = tmp_path / "current.previous"
    rollback = os.readlink(previous)
    served = os.readlink(link)
    real_replace = os.replace

    def interrupted_after_first(src: object, dst: object) -> None:
        real_replace(src, dst)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # the signal arrives as LINK.previous's rename returns

    monkeypatch.setattr(promote_module.os, "replace", interrupted_after_first)
    v3 = build_colour_model(tmp_path / "v3", version="v3")
    assert main(["promote", str(v3), "--to", str(link), "--force"]) == 130
    monkeypatch.undo()
    assert "capsight: interrupted" in capsys.readouterr().err
    assert (os.readlink(link), os.readlink(previous)) == (served, rollback)
    assert load_metadata(previous).version == "v1"
    assert main(["promote", str(v3), "--to", str(link), "--force"]) == 0
    assert load_metadata(link).version == "v3"
    assert load_metadata(previous).version == "v2"
    assert load_metadata(tmp_path / "releases" / "v1").version == "v1"
