"""Alembic migrations on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from capsight.store.database import Database, normalize_url
from capsight.store.models import Base

TABLES = {
    "users",
    "api_keys",
    "requests",
    "classifications",
    "jobs",
    "job_items",
    "feedback",
    "purge_marks",
    "alembic_version",
}


def _schema_diff(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_creates_the_schema_the_models_describe(database: Database) -> None:
    database.migrate()
    assert set(inspect(database.engine).get_table_names()) >= TABLES
    assert _schema_diff(database) == [], "models and migrations drifted apart: add a migration"
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0010"


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    database.migrate()
    database.downgrade("base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.migrate()
    assert set(inspect(database.engine).get_table_names()) >= TABLES


def test_upgrade_is_idempotent(database: Database) -> None:
    database.migrate()
    database.migrate()
    assert _schema_diff(database) == []


def _migrate_at_once(databases: list[Database], timeout: float) -> list[BaseException]:
    """Migrate every database on its own thread, all released together; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(databases))

    def migrate(db: Database) -> None:
        start.wait()
        try:
            db.migrate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors


def test_concurrent_start_ups_migrate_once(database: Database) -> None:
    """Several replicas starting at once: the lock makes them take turns, none fails."""
    others = [Database(database.url) for _ in range(3)]
    errors = _migrate_at_once(others, timeout=30)
    for db in others:
        db.dispose()
    assert errors == []
    assert _schema_diff(database) == []


def test_unreachable_database_raises_on_first_use_not_on_construction() -> None:
    from store_records import unreachable_postgres_url

    db = Database(unreachable_postgres_url(), connect_timeout=1)  # connects to nothing yet
    with pytest.raises(Exception, match=r"(?i)connect|refused"):
        db.ensure_ready()
    assert not db.ping()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'deep' / 'er' / 'capsight.db'}")
    db.ensure_ready()
    assert (tmp_path / "deep" / "er" / "capsight.db").is_file()
    assert db.ping()
    db.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        # Deploy templates often name psycopg2, which capsight does not ship: the replica then
        # spooled its log and answered 503 to every API key for ever. Same libpq URL, psycopg 3.
        (
            "postgresql+psycopg2://u:p%40ss@h:5432/db?sslmode=require",
            "postgresql+psycopg://u:p%40ss@h:5432/db?sslmode=require",
        ),
        ("postgres+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite:///var/x.db"),
    ],
)
def test_normalize_url_uses_psycopg3(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_a_replica_of_the_previous_release_keeps_working_on_a_newer_schema(database: Database) -> None:
    """Rolling update: a new replica migrated the shared database to a revision this code does not
    know. The old replicas still running must keep verifying keys and logging (the schema only grows),
    not fail every database call until they are replaced."""
    from capsight.store.keys import KeyStore

    database.migrate()
    key_id, plaintext = KeyStore(database).create_key("rolling")
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    old_replica = Database(database.url)
    try:
        old_replica.ensure_ready()  # raised "Can't locate revision" before
        info = KeyStore(old_replica).verify(plaintext)
        assert info is not None and info.id == key_id
    finally:
        old_replica.dispose()
    with database.engine.connect() as connection:  # and the newer revision is left alone
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == "9999_from_the_future"


def test_databases_migrated_at_once_in_one_process_do_not_trip_over_alembic(tmp_path: Path) -> None:
    """Alembic keeps the running migration in module globals (``alembic.context``): two databases
    migrated on two threads of one process (two apps in one process, a CLI command beside the
    recorder) made one of them fail with ``KeyError: 'config'``."""
    databases = [Database(f"sqlite:///{tmp_path / f'db{i}.sqlite'}") for i in range(4)]
    errors = _migrate_at_once(databases, timeout=60)
    for db in databases:
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        db.dispose()
    assert errors == []
