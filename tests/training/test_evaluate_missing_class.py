"""`capsight evaluate` on photos lacking one of the model's classes says that class is unmeasured.

Why: the table printed recall 0.000 for a class with no photo at all, which reads as "never
recognised"; nothing said the folder simply had none of it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main


def test_a_class_without_photos_is_named(
    trained_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=2)
    shutil.rmtree(data / "triangle")
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(trained_dir), str(data)]) == 0
    warned = [r.getMessage() for r in caplog.records if "no photo" in r.getMessage()]
    assert len(warned) == 1 and "triangle" in warned[0]
    assert "circle" not in warned[0] and "square" not in warned[0]


def test_every_class_present_warns_nothing(
    trained_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=2)
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(trained_dir), str(data)]) == 0
    assert [r for r in caplog.records if "no photo" in r.getMessage()] == []
