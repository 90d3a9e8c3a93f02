"""``capsight batch report`` on an --out folder whose results.jsonl still holds the error rows an
older run made for files that are no image (sidecars, notes): the rerun skips those files and its
results.csv and summary.json leave the rows out, but the log is append-only, and the report listed
them among the errors ("5 errors" beside the run's "3 errors, 6 skipped"). Now the report shows them
as skipped, as the run does; a file the user named, which the run keeps as an error row, stays one."""

from __future__ import annotations

import re
from pathlib import Path

from capsight.batch import BatchOptions, run_batch
from capsight.batch.report import write_report
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photo_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "IMG_1.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "JPEG"))
    (root / "broken.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"])[:120])
    (root / "NOTES.md").write_text("where these came from\n")
    (root / "IMG_1.xmp").write_text("<x:xmpmeta/>")
    return root


def _report(out: Path) -> tuple[dict[str, str], list[str]]:
    """The report's totals by id, and the paths of its error rows."""
    html = write_report(out).read_text()
    ids = dict(re.findall(r'<span id="(\w+)">([^<]*)</span>', html))
    errors = re.findall(r'<tr class="error-row"><td>([^<]*)</td>', html)
    return ids, [Path(p).name for p in errors]


def test_error_rows_of_files_the_last_run_skipped_are_shown_as_skipped(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    listing = tmp_path / "list.txt"  # named files get error rows, as every file did before skipping
    listing.write_text("photos/IMG_1.jpg\nphotos/NOTES.md\nphotos/IMG_1.xmp\n")
    assert run_batch([str(listing)], out, classifier, BatchOptions(workers=1)).errors == 2
    summary = run_batch([str(photos)], out, classifier, BatchOptions(workers=1))
    assert (summary.total, summary.errors, summary.skipped["count"]) == (2, 1, 2)
    ids, errors = _report(out)
    assert errors == ["broken.jpg"]
    assert (ids["total"], ids["classified"], ids["errors"], ids["skipped"]) == ("2", "1", "1", "2")


def test_a_named_file_that_is_no_image_stays_an_error_row(classifier: OnnxClassifier, tmp_path: Path) -> None:
    _photo_folder(tmp_path / "photos")
    out = tmp_path / "out"
    listing = tmp_path / "list.txt"
    listing.write_text("photos/IMG_1.jpg\nphotos/NOTES.md\n")
    assert run_batch([str(listing)], out, classifier, BatchOptions(workers=1)).errors == 1
    ids, errors = _report(out)
    assert errors == ["NOTES.md"]
    assert (ids["total"], ids["errors"]) == ("2", "1") and "skipped" not in ids
