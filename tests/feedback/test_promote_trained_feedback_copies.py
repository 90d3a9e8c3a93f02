"""``capsight promote`` on photos a model trained on under another name: the copies
``capsight feedback export`` wrote (``<label>/<sha256>.<ext>``) of photos sent to the server.

Why: a team's held-out photos that were also sent to the server (a QA run, a reviewer checking the
upload page) came back through feedback export into the training folder under their SHA-256, and a
candidate trained there was compared on the held-out folder with no warning: split.json names them
by the copy's name, not the photo's. Measured: a tiny model trained on 17 of 18 held-out photos won
by +0.278 accuracy in silence. A copy's name is the digest of its bytes, so it is recognised.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

RIGHT = np.diag([4.0, 4.0, 4.0])
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


def _photos(root: Path) -> list[Path]:
    paths = []
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(2):
            path = root / label / f"IMG_{i}.jpg"
            path.write_bytes(solid_image_bytes(colour, "JPEG", (64 + i, 48)))
            paths.append(path)
    return paths


def _feedback_copy(photo: Path) -> str:
    """The name feedback export gives this photo in a training folder."""
    return f"{photo.parent.name}/{hashlib.sha256(photo.read_bytes()).hexdigest()}.jpg"


def _split(model: Path, train: list[str], val: list[str]) -> None:
    plan = {"seed": 0, "train": [*train, "closed/other.jpg"], "val": val, "test": ["opened/x.jpg"]}
    (model / "split.json").write_text(json.dumps(plan))


def test_feedback_copies_of_compared_photos_count_as_trained_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = _photos(tmp_path / "held-out")  # 6 photos, under their own names
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    _split(served, [_feedback_copy(photos[0])], [_feedback_copy(photos[1])])  # 2 of them
    _split(candidate, [_feedback_copy(p) for p in photos[:4]], [])  # 4 of them
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "held-out")]
    assert main([*argv, "--dry-run", "--json"]) == 0  # the verdict stands
    captured = capsys.readouterr()
    assert json.loads(captured.out)["trained_on_photos"] == {"current": 2, "candidate": 4}
    assert "2 of the 6 photos compared on" in captured.err and "4 in the candidate's" in captured.err
    # --test-from cannot help here: the warning says what these are.
    assert "feedback export" in captured.err


def test_other_photos_with_digest_names_are_not_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = _photos(tmp_path / "held-out")
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    other = "closed/" + hashlib.sha256(b"another photo").hexdigest() + ".jpg"
    _split(served, [other], [])
    _split(candidate, [other], [])
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos[0].parents[1])]
    assert main([*argv, "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["trained_on_photos"] == {"current": 0, "candidate": 0}
    assert captured.err == ""
