"""Fixtures of the store tests: databases on SQLite and on the real PostgreSQL server, records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from capsight.store.database import Database
from servers import PostgresServer


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    yield db
    db.dispose()


@pytest.fixture
def pg_db(postgres_server: PostgresServer) -> Iterator[Database]:
    db = Database(postgres_server.create_schema())
    yield db
    db.dispose()
