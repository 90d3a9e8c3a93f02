"""A class folder whose photos are two or more levels down (a dated export: ``cats/2019/01/*.jpg``)
was "ignoring cats/: no image files, so not a class", at INFO, which a default run does not show
above the scores: the class vanished, and ``evaluate`` then said "no photo of cats was scored: add a
folder of it" of a folder full of them. It is now the warning a folder one level down gets, naming
the sub-folder that holds them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from capsight.training.dataset import list_labels
from model_factory import solid_image_bytes


def test_photos_deeper_down_are_named_in_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for label in ("dogs", "owls"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a.jpg").write_bytes(solid_image_bytes((200, 30, 30)))
    deep = tmp_path / "cats" / "2019" / "01"
    deep.mkdir(parents=True)
    (deep / "a.jpg").write_bytes(solid_image_bytes((30, 200, 30)))
    (tmp_path / "notes").mkdir()  # a folder with no photo at any depth stays a quiet INFO
    (tmp_path / "notes" / "deeper").mkdir()
    (tmp_path / "notes" / "deeper" / "readme.txt").write_text("hi\n")
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        assert list_labels(tmp_path) == ("dogs", "owls")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("ignoring cats/: its photos are in sub-folders (2019/)") for m in warnings), (
        warnings
    )
    assert not any("notes" in m for m in warnings)
    assert any("ignoring notes/: no image files" in r.getMessage() for r in caplog.records)
