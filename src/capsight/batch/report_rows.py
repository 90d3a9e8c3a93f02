"""Which rows of results.jsonl ``capsight report`` shows: those the run's results.csv and summary.json
count. Why a module apart from the page (report.py): results.jsonl is append-only and keeps rows a
later run left out (files it skips as no image, error rows of files the user deleted), and the rules
that find them must stay those of the run (runner.py, ab123ff).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from capsight.batch.objects import is_s3
from capsight.batch.outputs import RESULTS_CSV, SUMMARY_JSON
from capsight.batch.records import ResultRecord, csv_cell
from capsight.errors import InvalidImage
from capsight.imaging.files import is_image_file


def _csv_paths(folder: Path) -> set[str] | None:
    """The path cells of the last run's results.csv in ``folder``; None when there is none."""
    try:
        text = (folder / RESULTS_CSV).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    return {row[0] for row in csv.reader(io.StringIO(text, newline="")) if row}


def skipped_rows(records: Sequence[ResultRecord], folder: Path) -> set[str]:
    """Paths of error rows that the last run into ``folder`` left out as no image.

    Why: results.jsonl is append-only, so an --out first written by a release that made an error row
    of every file that is no image (a sidecar, a note) keeps those rows after a rerun skipped the
    files; the rerun's results.csv and summary.json leave them out, and the report listed them among
    the errors. A row is skipped only when all of these say so: the run's results.csv does not list
    it (a file a list names is an error row there, and stays one), its error is InvalidImage, and the
    local file at its path is no image by the rule runs skip by. No results.csv: none is skipped.
    """
    listed = _csv_paths(folder)
    if listed is None:
        return set()
    return {
        r.path
        for r in records
        if (r.error or "").startswith(f"{InvalidImage.__name__}:")
        and csv_cell(r.path) not in listed
        and _no_image(r.path)
    }


def deleted_error_rows(records: Sequence[ResultRecord], folder: Path) -> set[str]:
    """Paths of error rows of files the user deleted, which the last run into ``folder`` left out.

    Why: a run leaves out of results.csv and summary.json the error row of a file that is gone and
    that its sources no longer name (a broken photo deleted before a rerun); results.jsonl keeps it,
    and the report showed it among the errors. results.csv is what says the run left it out: a file
    deleted after the run is still listed there, and counted here too. No results.csv: none is left.
    """
    listed = _csv_paths(folder)
    if listed is None:
        return set()
    return {
        r.path
        for r in records
        if not r.ok and csv_cell(r.path) not in listed and not is_s3(r.path) and not os.path.lexists(r.path)
    }


def run_skipped(folder: Path) -> int:
    """How many files the last run into ``folder`` skipped as no image, by its summary.json (0 when
    it is missing or unreadable).

    Why: the run's closing line and summary.json say "Skipped 8 files that are not images" (a
    dataset's LICENSE and README files, sidecars); the report, which counted only old error rows of
    such files, said nothing of them."""
    try:
        skipped = json.loads((folder / SUMMARY_JSON).read_text(encoding="utf-8")).get("skipped", {})
        count = skipped.get("count", 0)
    except (OSError, ValueError, AttributeError):
        return 0
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0


def _no_image(key: str) -> bool:
    if "://" in key:  # an S3 object: its listing is not checked here
        return False
    try:
        return not is_image_file(Path(key))
    except OSError:  # gone or unreadable: a run would keep its row too
        return False
