"""``capsight report`` of a run that skipped files that are no image (a dataset's LICENSE and README
files, sidecars): the run's closing line says "Skipped 8 files that are not images" and summary.json
counts them, but the report said "710 images, 710 classified, 0 errors" and nothing of them (it
counted as skipped only old error rows of such files in results.jsonl). It says how many the run
skipped, from summary.json, as the closing line does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _report_ids(out: Path) -> dict[str, str]:
    assert main(["report", str(out)]) == 0
    return dict(re.findall(r'<span id="(\w+)">([^<]*)</span>', (out / "report.html").read_text()))


def test_the_report_counts_the_files_the_run_skipped(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    (photos / "LICENSES").mkdir(parents=True)
    for n, colour in enumerate(LABEL_COLOURS.values()):
        (photos / f"{n}.jpg").write_bytes(solid_image_bytes(colour))
    (photos / "LICENSES" / "CC-BY-4.0.txt").write_text("Attribution 4.0 International\n")
    (photos / "README.md").write_text("# bottles\n")
    (photos / "0.xmp").write_text("<x:xmpmeta/>")
    out = tmp_path / "out"
    args = ["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"]
    assert main(args) == 0
    assert json.loads((out / "summary.json").read_text())["skipped"]["count"] == 3
    ids = _report_ids(out)
    assert (ids["total"], ids["errors"], ids.get("skipped")) == (str(len(LABEL_COLOURS)), "0", "3")
    capsys.readouterr()


def test_no_summary_json_no_skipped_count(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    (photos / "notes.txt").write_text("no image\n")
    out = tmp_path / "out"
    args = ["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"]
    assert main(args) == 0
    (out / "summary.json").write_text("{not json")  # damaged by hand: the report still renders
    ids = _report_ids(out)
    assert (ids["total"], ids["errors"]) == ("1", "0") and "skipped" not in ids
    capsys.readouterr()
