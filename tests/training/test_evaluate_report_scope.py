"""The report says what its accuracy was measured on: a whole folder, or one split of a split.json.

Why: ``capsight evaluate MODEL DATA --out DIR`` scored every photo of DATA (training photos included)
and its report.html still read "Test accuracy", a held-out score it was not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main


def _headline(report: Path) -> str:
    page = report.read_text(encoding="utf-8")
    return page.split("<p><b>", 1)[1].split("</b>", 1)[0]


def test_a_whole_folder_report_does_not_call_its_accuracy_a_test_accuracy(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out), "--json"]) == 0
    n = json.loads(capsys.readouterr().out)["n"]
    headline = _headline(out / "report.html")
    assert "test" not in headline.replace(str(shapes_dir), "DATA").lower()  # pytest's paths say test
    assert f"Accuracy on {shapes_dir} (all {n} photos)" in headline


def test_a_test_split_report_says_test_accuracy_and_its_split(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    split = trained_dir / "split.json"
    args = ["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out), "--json"]
    assert main([*args, "--split-file", str(split), "--split", "test"]) == 0
    n = json.loads(capsys.readouterr().out)["n"]
    assert f"Test accuracy (split test, {n} photos)" in _headline(out / "report.html")


def test_a_train_split_report_is_not_called_a_test_accuracy(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    split = trained_dir / "split.json"
    args = ["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out), "--json"]
    assert main([*args, "--split-file", str(split), "--split", "train"]) == 0
    n = json.loads(capsys.readouterr().out)["n"]
    headline = _headline(out / "report.html")
    assert "test" not in headline.lower()
    assert f"Accuracy on split train ({n} photos)" in headline


def test_the_training_report_says_test_accuracy_of_its_test_split(trained_dir: Path) -> None:
    n = json.loads((trained_dir / "model.json").read_text())["metrics"]["n"]
    assert f"Test accuracy (split test, {n} photos)" in _headline(trained_dir / "report.html")
