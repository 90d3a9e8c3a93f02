"""One database handle: engine, sessions and Alembic migrations, created lazily.

Constructing a :class:`Database` connects to nothing, so ``build_services`` stays cheap and the API
is ready long before a slow or unreachable database answers; the first user (the recorder thread,
a key lookup, a CLI command) calls :meth:`Database.ensure_ready`, which runs the migrations once.

Replicas (or workers) starting at once all try to migrate; a PostgreSQL advisory lock, or a file
lock by a SQLite file, makes them take turns, the first alone doing work. In a rolling update the
database may be at a newer release's revision, used as is (migrations only add to the schema).

SQLAlchemy is imported on first use, not with this module: it costs a few hundred ms, and the API
must be ready (model loaded) before the request log's thread needs the database.

Beside it: ``deadline.py`` (a request's database call and its deadline), ``alembic_support.py`` (the
migrations), ``first_use.py`` (one migration per process), ``sqlalchemy_import.py`` (the lazy import)
and ``database_errors.py`` (a database failure as one line for the CLI).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capsight.store import jsontext
from capsight.store.alembic_support import (
    ALEMBIC_LOCK,
    alembic_config,
    current_revisions,
    sqlite_rebuilds_keep_rows,
    unknown_revisions,
)
from capsight.store.deadline import COMMIT_GUARD, DB_CALL_TIMEOUT_S, first_use_wait
from capsight.store.first_use import SharedAttempt
from capsight.store.sqlalchemy_import import load_sqlalchemy
from capsight.store.sqlite_file import sqlite_file

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

# Arbitrary constant shared by every capsight process: the advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x0CA95167
# The one that orders the retention purge's image deletions against writers of the request log.
_PG_IMAGE_LOCK = 0x0CA95168
# libpq TCP settings: a peer that vanished (a network partition, a dead node) is noticed in about
# half a minute, not after the kernel's ~15 minutes of retransmissions.
_PG_TCP_ARGS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,  # ms of unacknowledged data before the connection is dropped
}
# What each PostgreSQL session of a server may wait (set when it connects, unless the operator set one
# on the role, the database or in the URL's options). A call held by the server (a table locked by a
# VACUUM FULL, a newer release's migration or an operator's open transaction; a frozen server) kept
# its thread, one of the few the API has, for as long as that lasted, though its request had been
# answered 503 at its deadline. A lock wait gives up when the request's caller does (DB_CALL_TIMEOUT_S):
# past it nobody waits for the answer, and the request log's writer keeps its batch for later (an
# outage). A statement gets 30 s, the pool's wait for a connection: far more than serving ones take.
# Longer work lifts them for its transaction: migrations, the retention purge (``lift_timeouts``);
# listings set their own; the CLI's commands run with none (``Database(statement_timeouts=False)``).
PG_STATEMENT_TIMEOUT_S = 30.0
PG_LOCK_TIMEOUT_S = DB_CALL_TIMEOUT_S


def storable_text(value: str) -> str:
    """``value`` with each NUL character replaced by U+FFFD, which every dialect stores.

    Why: PostgreSQL's text columns refuse NUL where SQLite keeps it. A request whose logged text had
    one (a JWT subject, an error naming client input) was set aside as rejected on PostgreSQL only,
    and a request-log filter with one failed as "database unavailable" (503). Filters go through
    this too, so they find what was logged.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


PG_SCHEMES = ("postgres://", "postgresql://", "postgres+psycopg2://", "postgresql+psycopg2://")


def normalize_url(url: str) -> str:
    """Accept the URL forms people paste (``postgres://``, ``postgresql://``, psycopg2's) and use
    psycopg 3, the driver capsight ships: with psycopg2 named and not installed, every database call
    failed for as long as the replica ran. The rest of the URL is libpq's either way."""
    for scheme in PG_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


DATABASE_URL_FORMS = "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"


class Database:
    """Lazily created engine + session factory for one database URL."""

    def __init__(self, url: str, *, connect_timeout: float = 3.0, statement_timeouts: bool = True) -> None:
        self.url = normalize_url(url)
        self.connect_timeout = connect_timeout
        self.statement_timeouts = statement_timeouts  # PostgreSQL: see PG_STATEMENT_TIMEOUT_S
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()
        self._ready = False
        self._first_use = SharedAttempt()

    @property
    def dialect(self) -> str:
        load_sqlalchemy()
        from sqlalchemy.engine import make_url

        return make_url(self.url).get_backend_name()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                load_sqlalchemy()
                from sqlalchemy.orm import sessionmaker

                self._engine = self._create_engine()
                self._sessions = sessionmaker(self._engine, expire_on_commit=False)
            return self._engine

    def _create_engine(self) -> Engine:
        load_sqlalchemy()
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url

        from capsight.store.pool import CallerBoundPool

        url = make_url(self.url)
        # A URL job's list encoded and parsed a piece at a time, the GIL free between (jsontext.py).
        common: dict[str, Any] = {"pool_pre_ping": True, **jsontext.ENGINE_ARGS}
        if url.get_backend_name() == "sqlite":
            path = sqlite_file(url)
            if path is not None:
                common["poolclass"] = CallerBoundPool  # SQLAlchemy's own for a file (an in-memory
                # database keeps its one connection in another pool)
                path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):  # the request log and key hashes: owner only
                    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False}, **common)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, int(self.connect_timeout))
            connect_args.update(_PG_TCP_ARGS)
        engine = create_engine(
            url, connect_args=connect_args, pool_size=5, poolclass=CallerBoundPool, **common
        )
        if url.get_backend_name() == "postgresql" and self.statement_timeouts:
            event.listen(engine, "connect", _pg_timeouts)
        return engine

    def session(self) -> Session:
        """A new ORM session; migrations are run first if this process has not done so yet."""
        self.ensure_ready()
        _ = self.engine  # creates the session factory too
        assert self._sessions is not None
        session = self._sessions()
        guard = COMMIT_GUARD.get()
        if guard is not None:  # made inside call_with_deadline: commit only while still wanted
            from sqlalchemy import event

            event.listen(session, "before_commit", guard.before_commit)
        return session

    def ensure_ready(self) -> None:
        """Run the migrations once per process; raises (and retries next call) while unreachable.

        A request's call waiting here is not on its own deadline (``first_use_wait``): the first
        requests of a server on a loaded host were answered 503 while the migration ran."""
        if not self._ready:  # one thread migrates, the others share its outcome
            with first_use_wait():
                self._first_use.run(lambda: None if self._ready else self.migrate())

    def migrate(self, revision: str = "head") -> None:
        """``alembic upgrade <revision>`` on this database, serialised across processes."""
        load_sqlalchemy()
        from alembic import command
        from sqlalchemy import text

        engine = self.engine
        changed = False
        with self._migration_lock(), engine.connect() as connection, sqlite_rebuilds_keep_rows(connection):
            if self.dialect == "postgresql":
                # Another replica's migration is waited for, and an index on a large table is built,
                # however long it takes; env.py bounds its table locks with a timeout of its own.
                lift_timeouts(connection)
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            try:
                with ALEMBIC_LOCK:
                    newer = unknown_revisions(connection) if revision == "head" else ()
                    if newer:
                        # A newer release migrated the shared database during a rolling update. Its
                        # migrations only add to the schema, so this replica keeps working with it
                        # instead of failing every database call until it is replaced.
                        logger.warning(
                            "database schema is at %s, newer than this release knows; using it as is",
                            ", ".join(newer),
                        )
                    else:
                        before = current_revisions(connection)
                        command.upgrade(alembic_config(connection), revision)
                        changed = current_revisions(connection) != before
                connection.commit()
            finally:
                if self.dialect == "postgresql":
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
                    connection.commit()
        self._ready = revision == "head"
        # Said at INFO when this call migrated it; an up-to-date schema (every start after the first,
        # every CLI command, the second and third store of one server) is no news.
        level = logging.INFO if changed else logging.DEBUG
        logger.log(level, "database schema at %s (%s)", revision, self.dialect)

    def schema_revisions(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The database's current revisions, and those of them this release does not know (a newer
        release migrated it): what ``capsight db upgrade`` reports, since it leaves those alone."""
        load_sqlalchemy()
        with self.engine.connect() as connection, ALEMBIC_LOCK:
            return current_revisions(connection), unknown_revisions(connection)

    def downgrade(self, revision: str) -> None:
        load_sqlalchemy()
        from alembic import command

        with self.engine.connect() as connection, sqlite_rebuilds_keep_rows(connection), ALEMBIC_LOCK:
            lift_timeouts(connection)
            command.downgrade(alembic_config(connection), revision)
            connection.commit()
        self._ready = False

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        path = sqlite_file(self.url)
        if path is None:
            yield
            return
        lock_path = path.with_name(path.name + ".migrate.lock")
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def image_lock(self, *, exclusive: bool) -> Iterator[None]:
        """Shared by writers of rows that point at stored images, exclusive for the retention purge.

        Why: images are content-addressed, so a writer finding a photo already stored does not write
        it again; if the purge, having seen no newer row for it, deleted it meanwhile, the new row
        pointed at nothing. Held from a writer's image check to its row commit, and around the purge's
        reference check, image deletions and commit, no two of them interleave. A PostgreSQL advisory
        lock orders every replica; a file lock next to a SQLite file every process on the machine.
        """
        load_sqlalchemy()
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            path = sqlite_file(url)
            if path is None:
                yield  # one process: its recorder thread both writes and purges
                return
            lock_path = path.with_name(path.name + ".images.lock")
            with open(lock_path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        how = "" if exclusive else "_shared"
        connection = self.engine.connect()
        try:
            # Its holders are capsight's own, each for a bounded step (a batch's rows, a purge's
            # chunk): not a lock to give up on at PG_LOCK_TIMEOUT_S. PG_STATEMENT_TIMEOUT_S bounds it.
            lift_timeouts(connection, statement=False)
            connection.execute(text(f"SELECT pg_advisory_lock{how}(:key)"), {"key": _PG_IMAGE_LOCK})
            connection.commit()
            try:
                yield
            finally:
                try:
                    connection.execute(text(f"SELECT pg_advisory_unlock{how}(:key)"), {"key": _PG_IMAGE_LOCK})
                    connection.commit()
                except Exception:  # a connection that cannot unlock must not go back to the pool:
                    connection.invalidate()  # closing it ends the session, and the lock with it
        finally:
            connection.close()

    def ping(self) -> bool:
        """True when the database answers a trivial query (for health checks)."""
        load_sqlalchemy()
        from sqlalchemy import text

        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not reachable" to a health check
            return False

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()


def _pg_timeouts(dbapi_connection: Any, _record: Any) -> None:
    """PG_STATEMENT_TIMEOUT_S and PG_LOCK_TIMEOUT_S for this session, each unless already set (the
    operator's, on the role, the database or in the URL's ``options``). Set here, not as a startup
    option: a connection pooler in front of PostgreSQL (PgBouncer) refuses startup options."""
    values = (str(int(PG_STATEMENT_TIMEOUT_S * 1000)), str(int(PG_LOCK_TIMEOUT_S * 1000)))
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(
            "SELECT set_config(name, value, false)"
            " FROM (VALUES ('statement_timeout', %s), ('lock_timeout', %s)) AS wanted (name, value)"
            " WHERE current_setting(name) = '0'",
            values,
        )
    finally:
        cursor.close()
    dbapi_connection.commit()  # a session setting made in a transaction rolled back is undone


def lift_timeouts(connection: Any, *, statement: bool = True, lock: bool = True) -> None:
    """No statement (``statement``) or lock (``lock``) timeout for the rest of the transaction of
    ``connection`` (a SQLAlchemy connection or session) on PostgreSQL: work that rightly runs or
    waits long (a migration, the retention purge's deletes). Nothing on SQLite."""
    from sqlalchemy import text

    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    names = [name for name, lifted in (("statement_timeout", statement), ("lock_timeout", lock)) if lifted]
    if bind.dialect.name == "postgresql" and names:
        connection.execute(text("SELECT " + ", ".join(f"set_config('{name}', '0', true)" for name in names)))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the API read while the recorder writes; foreign keys make cascades work. FULL: a
    job's row must outlive a power cut once its 202 is sent (NORMAL skips the WAL fsync)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
