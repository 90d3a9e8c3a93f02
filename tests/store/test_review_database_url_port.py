"""The database commands answer a CAPSIGHT_DATABASE_URL whose port is no number in one line.

Found in review, beside the same fault in ``capsight serve``: SQLAlchemy's URL parser raises a
plain ValueError for a port that is no number (``HOST:PORT`` with the placeholder left in, libpq's
``host1:5432,host2:5432`` list), which the commands' one-line handling (for ArgumentError only) let
through as a traceback: ``capsight db upgrade``, ``keys list`` and ``feedback export``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsight.cli import main


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))


@pytest.mark.parametrize(
    "url", ["postgresql://app:Pw9secret@db:PORT/capsight", "postgresql://app:Pw9secret@db1:5432,db2:5432/x"]
)
@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["keys", "list"], ["feedback", "export", "--out", "OUT"]]
)
def test_review_a_port_that_is_no_number_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    url: str,
    command: list[str],
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", url)
    argv = [str(tmp_path / "out") if part == "OUT" else part for part in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "CAPSIGHT_DATABASE_URL is not a database URL" in err
    assert "Pw9secret" not in err
