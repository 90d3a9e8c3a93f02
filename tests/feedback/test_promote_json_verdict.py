"""``capsight promote --json`` (what a deploy script reads) left out what the text says: why a
candidate was refused (accuracy not above the gain, or which class lost recall) and which model
versions were compared. A script logged "promoted: false" and nobody could tell why without
running the comparison again by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

RIGHT = np.diag([4.0, 4.0, 4.0])
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / "0.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (64, 48)))
    return tmp_path / "photos"


def _promote(
    candidate: Path, served: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    code = main(["promote", str(candidate), "--to", str(served), "--data", str(photos), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_refusal_says_why_and_which_versions(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1", weight=RIGHT)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=OPENED_AS_CLOSED)
    code, report = _promote(candidate, served, photos, capsys)
    assert code == 1 and report["promoted"] is False
    assert report["verdict"].startswith("candidate is not better: ")
    assert "recall drops past 0.050 (opened -1.000)" in report["verdict"]
    assert (report["current_version"], report["candidate_version"]) == ("v1", "v2")


def test_a_promotion_says_which_version_it_serves(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    code, report = _promote(candidate, served, photos, capsys)
    assert code == 0 and report["promoted"] is True
    assert report["verdict"] == "candidate is better: accuracy +0.333"
    assert (report["current_version"], report["candidate_version"]) == ("v1", "v2")
