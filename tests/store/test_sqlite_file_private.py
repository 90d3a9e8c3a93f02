"""A SQLite database the store creates is readable by its owner only (0600), as the stored images
are: it holds the request log (who asked what, when, from which address) and the API keys' hashes,
and it was created 0644 under a usual umask, readable by every user of the machine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from capsight.store.database import Database


@pytest.fixture
def usual_umask() -> object:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_a_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "capsight.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.migrate("head")
        assert _mode(path) == 0o600
        assert _mode(path.with_name("capsight.db-wal")) == 0o600
    finally:
        database.dispose()


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "capsight.db"
    path.touch(mode=0o640)
    database = Database(f"sqlite:///{path}")
    try:
        database.migrate("head")
        assert _mode(path) == 0o640
    finally:
        database.dispose()
