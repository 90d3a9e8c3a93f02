"""What migrating the database logs: what changed, not Alembic's chatter on every start and command."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from capsight.store.database import Database

CHATTER = ("Context impl", "Will assume", "setup plugin")


def migrate(url: str) -> None:
    db = Database(url)
    try:
        db.migrate()
    finally:
        db.dispose()


def test_an_up_to_date_database_migrates_without_a_line_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`capsight keys create` printed five log lines around its three (two "Context impl ..."/"Will
    assume ..." pairs and "database schema at head"), `capsight serve` fifteen at every start."""
    url = f"sqlite:///{tmp_path / 'capsight.db'}"
    caplog.set_level(logging.INFO)
    migrate(url)  # a new database: what it did is worth a line
    first = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any(m.startswith("Running upgrade") for m in first)
    assert any(m.startswith("database schema at head") for m in first)
    assert not [m for m in first if m.startswith(CHATTER)]

    caplog.clear()
    migrate(url)  # nothing to do: nothing to say
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_a_debug_log_still_says_the_schema_is_current(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'capsight.db'}"
    migrate(url)
    caplog.set_level(logging.DEBUG, logger="capsight.store.database")
    migrate(url)
    assert any(r.getMessage().startswith("database schema at head") for r in caplog.records)
