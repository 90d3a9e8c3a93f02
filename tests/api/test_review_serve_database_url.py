"""``capsight serve`` with a PostgreSQL URL SQLAlchemy cannot parse says so in one line (exit 2).

Found in review: the start-up check for a SQLite file that is no database parses every database
URL first, and a port that is not a number (``HOST:PORT`` pasted with a placeholder left in, or
libpq's ``host1:5432,host2:5432`` list, which SQLAlchemy does not read) ended ``capsight serve`` in a
ValueError traceback (exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port


@pytest.mark.parametrize(
    "url",
    ["postgresql://app:Pw9secret@db:PORT/capsight", "postgresql://app:Pw9secret@db1:5432,db2:5432/capsight"],
)
def test_review_an_unparseable_database_url_is_one_line(tmp_path: Path, url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAPSIGHT_")}
    env.update(CAPSIGHT_DATA_DIR=str(tmp_path / "var"), CAPSIGHT_JOB_WORKERS="0", CAPSIGHT_DATABASE_URL=url)
    proc = subprocess.run(
        [sys.executable, "-m", "capsight.cli", "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("capsight: error: ")]
    assert "CAPSIGHT_DATABASE_URL" in line
    assert "Pw9secret" not in proc.stderr
