"""``capsight promote`` on photos that hold none of one class: the comparison cannot see that
class at all, yet its table said ``recall background 0.000 0.000`` (as if both models missed every
background photo) and nothing else; a candidate that had lost the class entirely was promoted
on the other classes' accuracy, the recall guard (``--max-recall-drop``) silently off for it.
The table says ``-`` for a class with no photo, promote warns naming it, and ``--json`` lists it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])
BACKGROUND_AS_OPENED = np.array([[0, 0, 4.0], [0, 4.0, 0], [0, 0, 4.0]])  # never answers background


def _photos(root: Path, labels: list[str]) -> Path:
    for label in labels:
        (root / label).mkdir(parents=True)
        for i in range(3):
            (root / label / f"{i}.jpg").write_bytes(
                solid_image_bytes(LABEL_COLOURS[label], "JPEG", (64 + i, 48))
            )
    return root


def _models(tmp_path: Path) -> tuple[Path, Path]:
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=BACKGROUND_AS_OPENED)
    return served, candidate


def test_a_class_without_photos_is_not_shown_as_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served, candidate = _models(tmp_path)
    photos = _photos(tmp_path / "photos", ["closed", "opened"])  # no background photo
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run"]
    assert main(argv) == 0  # better on what was measured: the verdict stands
    captured = capsys.readouterr()
    background = next(line for line in captured.out.splitlines() if line.startswith("recall background"))
    assert background.split()[2:] == ["-", "-"]
    assert "0.000" not in background
    assert "capsight: warning: " in captured.err
    assert "no photo of background" in captured.err and "not measured" in captured.err


def test_json_lists_the_classes_not_measured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served, candidate = _models(tmp_path)
    photos = _photos(tmp_path / "photos", ["closed", "opened"])
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["unmeasured_labels"] == ["background"]


def test_every_class_measured_brings_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served, candidate = _models(tmp_path)
    photos = _photos(tmp_path / "photos", sorted(LABEL_COLOURS))
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run", "--json"]
    main(argv)
    captured = capsys.readouterr()
    assert json.loads(captured.out)["unmeasured_labels"] == []
    assert "not measured" not in captured.err
