"""Where a SQLite database URL keeps its file: one reading for every place that needs the path.

Why one: the engine (which makes the file owner-only), the migration and image locks beside it, the
commands' "no database here" check and start-up's "not a SQLite file" check each read
``url.database`` their own way. A SQLite URI (``sqlite:///file:/srv/capsight.db?mode=ro&uri=true``,
as SQLAlchemy documents it) names its file after ``file:``, and each took ``file:/srv/capsight.db``
for a relative path: the real database was made world-readable, and stray ``file:`` folders and
lock files were left wherever a command ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

MEMORY = ":memory:"


def _query_value(url: URL, key: str) -> str:
    value = url.query.get(key, "")
    return value[-1] if isinstance(value, tuple) else value  # a repeated key: the driver takes the last


def sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite URL keeps its database in (relative to the working directory when the URL
    says so); None for an in-memory database or another database. Raises what ``make_url`` raises
    for a string that is no URL."""
    load_sqlalchemy()
    from sqlalchemy.engine import make_url
    from sqlalchemy.util import asbool

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if asbool(_query_value(parsed, "uri") or False):  # pysqlite hands the name to SQLite as a URI
        if _query_value(parsed, "mode") == "memory":
            return None
        if name.startswith("file:"):
            name = unquote(urlsplit(name).path)  # file:x.db, file:/abs, file:///abs, file://localhost/abs
    return None if name in ("", MEMORY) else Path(name)
