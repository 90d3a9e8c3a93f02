"""Where a SQLite database URL keeps its file, read once for every place that needs the path.

The engine (its owner-only file and folder), the migration and image locks, the commands' "no
database" check and start-up's "not a SQLite file" check each read ``url.database`` their own way.
A SQLite URI (``sqlite:///file:/srv/capsight.db?mode=ro&uri=true``, as SQLAlchemy documents) names
its file after ``file:``: each took ``file:/srv/capsight.db`` for a relative path, so the database
was created world-readable at the real path, empty ``file:/srv/...`` folders and lock files were
left in the working directory, and ``keys create`` said it made a new database elsewhere."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from capsight.api.startup_checks import require_sqlite_database
from capsight.errors import BadRequest
from capsight.store.database import Database
from capsight.store.sqlite_file import sqlite_file
from capsight.store.status import missing_sqlite_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/capsight.db", "var/capsight.db"),  # relative to the working directory
        ("sqlite:////srv/capsight/capsight.db", "/srv/capsight/capsight.db"),
        ("sqlite+pysqlite:////srv/a.db", "/srv/a.db"),
        ("sqlite:////srv/a.db?timeout=30", "/srv/a.db"),  # the query is the driver's, not the path's
        ("sqlite://", None),  # in memory
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://u:p@db:5432/capsight", None),
        ("sqlite:///file:/srv/a.db?mode=ro&uri=true", "/srv/a.db"),
        ("sqlite:///file:rel.db?uri=true", "rel.db"),
        ("sqlite:///file:///srv/a%20b.db?uri=true", "/srv/a b.db"),
        ("sqlite:///file://localhost/srv/a.db?uri=true", "/srv/a.db"),
        ("sqlite:////srv/plain.db?uri=true", "/srv/plain.db"),  # a URI that is no file: URI is a name
        ("sqlite:///file::memory:?cache=shared&uri=true", None),
        ("sqlite:///file:mem1?mode=memory&cache=shared&uri=true", None),
    ],
)
def test_the_file_a_url_names(url: str, expected: str | None) -> None:
    assert sqlite_file(url) == (Path(expected) if expected is not None else None)


def _uri(path: Path) -> str:
    return f"sqlite:///file:{path}?uri=true"


def test_a_sqlite_uri_database_is_made_owner_only_where_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = tmp_path / "data" / "capsight.db"
    db = Database(_uri(path))
    try:
        db.migrate()
    finally:
        db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "data" / "capsight.db.migrate.lock").is_file()
    assert list(elsewhere.iterdir()) == []  # no "file:" folders left where the command ran


def test_the_commands_find_a_sqlite_uri_database(tmp_path: Path) -> None:
    path = tmp_path / "capsight.db"
    assert missing_sqlite_file(_uri(path)) == path
    db = Database(_uri(path))
    try:
        db.migrate()
    finally:
        db.dispose()
    assert missing_sqlite_file(_uri(path)) is None


def test_start_up_refuses_a_sqlite_uri_naming_no_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "capsight.db"
    path.write_bytes(b"not a database at all")
    with pytest.raises(BadRequest, match="is not a SQLite database"):
        require_sqlite_database(_uri(path))
