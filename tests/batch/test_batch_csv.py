"""results.csv (and a job's CSV, the same writer) opened in a spreadsheet: file names never run."""

from __future__ import annotations

import csv
import io

import pytest

from capsight.batch.records import ResultRecord, error_record, to_csv

HOSTILE = [
    '=HYPERLINK("http://evil.example","click").jpg',
    "+1+2.jpg",
    "-2+3.jpg",
    "@SUM(A1).jpg",
    "\t=1.jpg",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_a_spreadsheet_reads_as_a_formula_is_written_as_text(name: str) -> None:
    # A job's CSV shows paths as sent: the zip member name, as here.
    rows = [
        ResultRecord(path=name, label="closed", confidence=0.9, probabilities={"closed": 0.9}),
        error_record(name, "InvalidImage: not an image", model="m", model_version="1"),
    ]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows, ["closed"]), newline="")))
    assert [row["path"] for row in parsed] == ["'" + name, "'" + name]
    assert parsed[0]["prob_closed"] == "0.9" and parsed[0]["confidence"] == "0.9"  # numbers stay numbers


def test_ordinary_and_absolute_paths_are_unchanged() -> None:
    names = ["/photos/-rf.jpg", "a=b.jpg", "ünïcødé ✓.jpg"]
    rows = [
        ResultRecord(path=n, label="closed", confidence=0.5, probabilities={"closed": 0.5}) for n in names
    ]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows, ["closed"]), newline="")))
    assert [row["path"] for row in parsed] == names
