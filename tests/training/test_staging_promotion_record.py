"""A model published into a promoted folder takes the folder's promotion record (promotion.json) away.

Why: ``capsight promote`` writes promotion.json into the served folder (which candidate, its
version, the scores that won). Training, exporting or quantizing into that folder afterwards left
the record beside the new model, naming another version and scores it never had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.training.staging import staged_folder


def _promoted(folder: Path) -> Path:
    folder.mkdir()
    (folder / "model.json").write_text("old")
    (folder / "model.onnx").write_text("old")
    (folder / "promotion.json").write_text('{"version": "old"}')
    return folder


def test_a_new_model_removes_the_promotion_record(tmp_path: Path) -> None:
    served = _promoted(tmp_path / "served")
    with staged_folder(served) as staging:
        (staging / "model.json").write_text("new")
        (staging / "model.onnx").write_text("new")
    assert sorted(p.name for p in served.iterdir()) == ["model.json", "model.onnx"]


def test_a_failed_run_keeps_it_with_its_model(tmp_path: Path) -> None:
    served = _promoted(tmp_path / "served")
    with pytest.raises(RuntimeError), staged_folder(served) as staging:
        (staging / "model.json").write_text("new")
        raise RuntimeError("the run failed")
    assert (served / "promotion.json").read_text() == '{"version": "old"}'
