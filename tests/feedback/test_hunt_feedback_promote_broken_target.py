"""``capsight promote --force``: the rollback works on the served folder it exists to repair.

A served folder left broken (a model.json cut short by a full disk or a hand edit, a model.json
deleted by mistake) is exactly when an operator runs the README's rollback; it was refused with
"not a valid capsight model.json" / "is not a model folder", leaving no way back but by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model


def _broken_by(kind: str, served: Path) -> None:
    if kind == "cut-json":
        (served / "model.json").write_text('{"name": "bottle-st')
    else:
        (served / "model.json").unlink()


@pytest.mark.parametrize("kind", ["cut-json", "no-json"])
def test_a_broken_served_folder_can_be_rolled_back(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 0
    _broken_by(kind, served)
    capsys.readouterr()

    code = main(["promote", str(tmp_path / "served.previous"), "--to", str(served), "--force"])

    assert code == 0, capsys.readouterr().err
    assert load_metadata(served).version == "v1"
    record = json.loads((served / "promotion.json").read_text())
    assert record["forced"] is True and record["replaced_version"] is None
    # The broken folder is kept, not deleted: whoever broke it may want to see how.
    assert (tmp_path / "served.previous" / "model.onnx").is_file()


def test_a_broken_served_folder_is_still_not_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --force there is nothing to score the candidate against: still refused, unchanged."""
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    photos = tmp_path / "photos" / "background"
    photos.mkdir(parents=True)
    (photos / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (served / "model.json").write_text("{")
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "photos")]) == 2
    assert "not a valid capsight model.json" in capsys.readouterr().err
    assert (served / "model.json").read_text() == "{"


def test_the_broken_served_folder_onto_itself_keeps_the_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 0
    (served / "model.json").write_text("{")
    capsys.readouterr()
    assert main(["promote", str(served), "--to", str(served), "--force"]) == 2
    assert "not a valid capsight model.json" in capsys.readouterr().err
    assert load_metadata(tmp_path / "served.previous").version == "v1"
