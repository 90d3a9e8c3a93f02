"""An in-memory SQLite CAPSIGHT_DATABASE_URL is refused at start, naming the setting.

``CAPSIGHT_DATABASE_URL=sqlite://`` (SQLAlchemy's in-memory database) was accepted: the server
migrated one connection's empty database, logged "database schema at head", reported ready, and
every request log query on another connection failed ``no such table: classifications``
(``GET /v1/requests`` 503 "Request log database unavailable" for as long as it ran); API keys made
by ``capsight keys create`` vanished with the command. Each in-memory form is now refused."""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite://",
        "sqlite:///file::memory:?cache=shared&uri=true",
        "sqlite:///file:mem1?mode=memory&cache=shared&uri=true",
    ],
)
def test_an_in_memory_database_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings(database_url=url)
    message = str(refused.value)
    assert "CAPSIGHT_DATABASE_URL" in message and "in-memory" in message and "sqlite:///PATH" in message


@pytest.mark.parametrize(
    "url",
    ["sqlite:////srv/capsight.db", "sqlite:///var/capsight.db", "postgresql://u:p@db:5432/capsight"],
)
def test_a_database_in_a_file_or_a_server_is_taken(url: str) -> None:
    assert Settings(database_url=url).database_url == url
