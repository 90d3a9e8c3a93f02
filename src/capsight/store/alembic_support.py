"""The packaged Alembic migrations: their config, the schema's revisions, quiet logs, safe rebuilds.

Split from ``database.py``: what :class:`~capsight.store.database.Database` needs to run Alembic
(and ``status.py`` to report on it), apart from the handle's engine and sessions. Importing this
module also quiets Alembic's per-start chatter.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _AlembicChatter(logging.Filter):
    """Drops the two lines Alembic logs at INFO whenever it opens a migration context ("Context impl
    SQLiteImpl.", "Will assume non-transactional DDL."): every server start and every `capsight keys`
    or `db` command printed them, twice or more, around what mattered. Its "Running upgrade" lines
    stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_AlembicChatter())
# Alembic also announces each of its plugins at INFO on every start and command.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
# Alembic keeps the running migration in module globals (``alembic.context``), so two migrations on
# two threads of one process (different databases: the cross-process locks do not order them) break
# each other (``KeyError: 'config'``). Taken innermost, after the database's own lock: no deadlock.
ALEMBIC_LOCK = threading.Lock()
# How long a PostgreSQL migration waits for a table lock (see migrations/env.py).
MIGRATION_LOCK_TIMEOUT_S = 5.0


def alembic_config(connection: Any | None = None) -> Any:
    """The Alembic config of the packaged migrations; ``connection`` is handed to env.py."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def sqlite_rebuilds_keep_rows(connection: Any) -> Iterator[None]:
    """SQLite foreign keys off while migrations run on ``connection``, on again afterwards.

    Why: Alembic changes a SQLite table by rebuilding it (copy, drop, rename), and with foreign keys
    on, dropping ``requests`` cascaded to ``classifications``: a migration that rebuilt it (0003's
    downgrade does) deleted the whole request log. Alembic's batch mode expects them off; the pragma
    is ignored inside a transaction, so this runs before the migration's first statement.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        connection.rollback()  # a transaction left open by a failure would ignore the pragma
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def current_revisions(connection: Any) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


def unknown_revisions(connection: Any) -> tuple[str, ...]:
    """The database's current revisions that this release's migrations do not contain (written by
    a newer release); empty on an empty, older or current database."""
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    return tuple(rev for rev in current_revisions(connection) if rev not in known)
