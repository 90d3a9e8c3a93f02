"""The SQL statements a call sends, for tests that prove a path does not read a column.

Why: a URL job's parameters hold its whole URL list (up to 16 MB of JSON), parsed under the GIL
whenever the row is loaded with them; the tests of status, listing, heartbeats, housekeeping,
cancel, run end and webhooks assert that no statement of theirs names ``params``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from capsight.store.database import Database


def statements_of(database: Database, call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``call()``'s result and every SQL statement it sent through ``database``'s engine."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return result, seen
