"""``capsight report`` after the user deleted a broken photo and reran the batch: the rerun leaves the
error row of the deleted file out of results.csv and summary.json (ab123ff), but the report reads the
append-only results.jsonl and still showed it ("6 images, 1 error" beside the run's "5 images, 0
errors"). The report now leaves out what results.csv left out: an error row of a file that is gone
and that results.csv does not list. A file deleted after the run, still in its results.csv, stays."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _report_totals(out: Path) -> tuple[dict[str, str], list[str]]:
    """The report's totals by id, and the names of its error rows."""
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    ids = dict(re.findall(r'<span id="(\w+)">([^<]*)</span>', html))
    errors = re.findall(r'<tr class="error-row"><td>([^<]*)</td>', html)
    return ids, [Path(p).name for p in errors]


def test_the_report_agrees_with_summary_json_after_a_deleted_broken_photo(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, colour in enumerate(LABEL_COLOURS.values()):
        (photos / f"{n}.png").write_bytes(solid_image_bytes(colour, "PNG"))
    broken = photos / "broken.jpg"
    broken.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"])[:100])
    empty = photos / "empty.png"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    args = ["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"]
    assert main(args) == 0
    ids, errors = _report_totals(out)
    assert (ids["total"], ids["errors"]) == (str(len(LABEL_COLOURS) + 2), "2")

    broken.unlink()
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["errors"]) == (len(LABEL_COLOURS) + 1, 1)
    ids, errors = _report_totals(out)
    assert (ids["total"], ids["errors"]) == (str(summary["total"]), str(summary["errors"]))
    assert errors == ["empty.png"]

    # Deleted after the last run: results.csv and summary.json still count it, and so does the report.
    empty.unlink()
    ids, errors = _report_totals(out)
    assert (ids["total"], ids["errors"]) == (str(summary["total"]), "1")
    assert errors == ["empty.png"]
    capsys.readouterr()
