"""What ``capsight evaluate --out``'s report.html says about the run.

Why: it named the model folder and the data folder only. ``promote`` replaces a model folder in place,
so "evaluation of models/bottle-status" did not say which model was scored (``--json`` has its name and
version); nor which split file the photos came from, how many photos were skipped as unreadable (the
terminal lists them; the page did not), or how many scored photos the model had learnt from (the
warning that says its accuracy is inflated is on stderr only).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from capsight.cli import main


def _facts(page: str) -> dict[str, str]:
    run = page.split("<h2>Run</h2>")[1].split("</table>")[0]
    cells = [part.split("</th><td>") for part in run.split("<tr><th>")[1:]]
    return {html.unescape(k): html.unescape(v.split("</td>")[0]) for k, v in cells}


def test_the_report_names_model_split_skipped_and_learnt(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evaluation"
    split_file = trained_dir / "split.json"
    argv = ["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out), "--json"]
    assert main([*argv, "--split-file", str(split_file), "--split", "train"]) == 0
    report = json.loads(capsys.readouterr().out)
    facts = _facts((out / "report.html").read_text())
    assert facts["model"] == f"{report['model']['name']} {report['model']['version']}"
    assert facts["photos"] == f"split train of {split_file}"
    assert facts["in training or validation split"] == str(report["in_training_split"])


def test_the_report_counts_skipped_files(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    skipped = [s["file"] for s in report["skipped"]]
    assert len(skipped) == 3  # the broken photos; readme.txt, no photo, is counted apart
    assert report["not_images"] == ["triangle/readme.txt"]
    facts = _facts((out / "report.html").read_text())
    assert facts["photos"] == f"all of {shapes_dir}"
    assert facts["skipped files"].startswith(f"{len(skipped)}: ")
    for name in skipped:
        assert name in facts["skipped files"]
    assert facts["files that are not images"] == "1 file that is not an image (.txt) left out"
