"""`capsight evaluate` on the folder a model was trained on says so.

Why: `capsight evaluate models/m data/` on the training folder scored mostly photos the model had
learnt, and printed that inflated accuracy without a word (`promote` warned of it, evaluate did not).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from capsight.cli import main


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "training or validation" in r.getMessage()]


def test_scoring_training_photos_is_flagged(
    trained_dir: Path,
    shapes_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    split = json.loads((trained_dir / "split.json").read_text())
    learnt = len(split["train"]) + len(split["val"])
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(trained_dir), str(shapes_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)  # stdout stays one JSON object
    assert report["in_training_split"] == learnt
    (warning,) = _warnings(caplog)
    # Of the photos scored: the folder's 4 skipped files (truncated, empty, not images) are in no score
    # (test_evaluate_trained_photos_skipped.py).
    assert report["skipped"] and f"{learnt} of the {report['n']} photos scored" in warning
    assert "--split test" in warning


def test_held_out_photos_are_not_flagged(
    trained_dir: Path,
    shapes_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    argv = ["evaluate", str(trained_dir), str(shapes_dir), "--json"]
    with caplog.at_level(logging.WARNING):
        assert main([*argv, "--split-file", str(trained_dir / "split.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["in_training_split"] == 0
    assert _warnings(caplog) == []
