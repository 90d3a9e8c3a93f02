"""``capsight evaluate``'s "N of the M photos scored are in the model's training or validation split"
counts the photos it scored, not those it skipped.

Why: the count was taken of every photo picked, before scoring, so a photo skipped later (truncated,
empty, not an image, over CAPSIGHT_MAX_PIXELS) was counted among the M "scored" and, when the split
listed it, among the N learnt; ``in_training_split`` in ``--json`` likewise. With the training folder
of tests/training/conftest.py (four such files) it read "52 of the 64 photos scored" beside n=60: the
share of learnt photos in the accuracy printed was understated, and photos the model had learnt but
that were never scored were counted as inflating it.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from capsight.cli import main


def test_a_learnt_photo_that_is_skipped_is_not_counted(
    trained_dir: Path,
    shapes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(shapes_dir, data)
    split = json.loads((trained_dir / "split.json").read_text())
    learnt = len(split["train"]) + len(split["val"])
    broken = data / split["train"][0]
    broken.write_bytes(broken.read_bytes()[:40])  # truncated since training: skipped now
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(trained_dir), str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert split["train"][0] in [s["file"] for s in report["skipped"]]
    assert report["in_training_split"] == learnt - 1
    (warning,) = [r.getMessage() for r in caplog.records if "training or validation" in r.getMessage()]
    assert f"{learnt - 1} of the {report['n']} photos scored" in warning, warning
