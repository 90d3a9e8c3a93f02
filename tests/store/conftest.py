"""Fixtures of the store tests: databases on SQLite and on the real PostgreSQL server, records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from capsight.store.database import Database
from capsight.store.protocols import ClassificationRecord
from servers import PostgresServer, free_port


def make_record(**overrides: Any) -> ClassificationRecord:
    values: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC),
        "endpoint": "/v1/classify",
        "client_id": "203.0.113.7",
        "model_name": "bottle-status",
        "model_version": "test-1",
        "label": "closed",
        "confidence": 0.91,
        "probabilities": {"background": 0.04, "closed": 0.91, "opened": 0.05},
        "latency_ms": 4.2,
        "image_sha256": None,
        "image_bytes": 0,
        "image_format": "png",
        "width": 32,
        "height": 24,
    }
    values.update(overrides)
    return ClassificationRecord(**values)


def unreachable_postgres_url() -> str:
    """A PostgreSQL URL nothing listens on: connecting fails for real, at once."""
    return f"postgresql+psycopg://capsight@127.0.0.1:{free_port()}/nothing"


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same test on the embedded default (SQLite) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = Database(server.create_schema())
    yield db
    db.dispose()
