"""``capsight report OUT --out OUT/results.jsonl`` (the log taken for the input the flag names): the
report was written over the run's append-only results log, its only record of every image (and over
summary.json, or a photo, alike), exit 0. An --out that exists and is not an HTML page is refused
(exit 2), with nothing written; an earlier report is replaced as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


@pytest.fixture
def run_out(colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    out = tmp_path / "out"
    assert (
        main(["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"])
        == 0
    )
    capsys.readouterr()
    return out


@pytest.mark.parametrize("name", ["results.jsonl", "summary.json", "results.csv", "../photos/a.jpg"])
def test_a_file_that_is_no_report_is_not_written_over(
    run_out: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = run_out / name
    before = target.read_bytes()
    assert main(["report", str(run_out), "--out", str(target)]) == 2
    assert target.read_bytes() == before
    assert f"{target} exists and is not an HTML report" in capsys.readouterr().err


def test_an_earlier_report_is_replaced(run_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = run_out / "weekly.html"
    assert main(["report", str(run_out), "--out", str(target)]) == 0
    target.write_text(target.read_text().replace("capsight batch report", "old report"))
    assert main(["report", str(run_out), "--out", str(target)]) == 0
    assert "old report" not in target.read_text()
    capsys.readouterr()
