"""The ``CAPSIGHT_JOB_WORKERS`` row says when ``0`` makes a server warn at start.

Why: a server with ``CAPSIGHT_JOB_WORKERS=0`` on the embedded SQLite database warns at start that
the jobs it accepts stay queued (``jobs/idle.py``), and one on a shared database says nothing; the
settings row only said "another one with workers runs them", so an operator who met the warning
found no word of it in the table, nor that a shared database is what silences it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _row(document: str) -> str:
    rows = [
        line
        for line in (REPO / document).read_text().splitlines()
        if line.startswith("| `CAPSIGHT_JOB_WORKERS` |")
    ]
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("document", ["README.md", "docs/scaling.md"])
def test_the_job_workers_row_names_the_start_up_warning(document: str) -> None:
    row = _row(document)
    assert "warns at start" in row and "SQLite" in row and "CAPSIGHT_DATABASE_URL" in row, row
