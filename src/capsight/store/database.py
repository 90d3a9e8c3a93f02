"""One database handle: engine, sessions and Alembic migrations, created lazily.

Constructing a :class:`Database` connects to nothing, so ``build_services`` stays cheap and the API
is ready long before a slow or unreachable database answers; the first user (the recorder thread,
a key lookup, a CLI command) calls :meth:`Database.ensure_ready`, which runs the migrations once.

Several replicas (or uvicorn workers) may start at the same moment and all try to migrate; a
PostgreSQL advisory lock, or a file lock next to a SQLite file, makes them take turns so only the
first one does any work. In a rolling update the database may already be at a revision of a newer
release; the older replicas then use it as is (migrations only add to the schema).

SQLAlchemy itself is imported on first use, not with this module: importing it costs a few hundred
ms, and the API must be ready (model loaded) before the request log's thread needs the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from capsight.errors import BadRequest, CapsightError, ServiceUnavailable, first_line

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)


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
# Arbitrary constant shared by every capsight process: the advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x0CA95167
# The one that orders the retention purge's image deletions against writers of the request log.
_PG_IMAGE_LOCK = 0x0CA95168
# How long a request waits for the database (a key lookup, a job's status) before it is answered 503.
DB_CALL_TIMEOUT_S = 5.0
# libpq TCP settings: a peer that vanished (a network partition, a dead node) is noticed in about
# half a minute, not after the kernel's ~15 minutes of retransmissions.
_PG_TCP_ARGS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,  # ms of unacknowledged data before the connection is dropped
}
T = TypeVar("T")


class DeadlinePassed(Exception):
    """A write reached its commit after the request that wanted it had been answered: rolled back."""


class _CommitGuard:
    """Decides once, under a lock, whether a call's writes commit or its caller gave up on them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._committing = False

    def before_commit(self, _session: Any) -> None:
        with self._lock:
            if self._abandoned:
                raise DeadlinePassed("the request was answered before this write committed")
            self._committing = True

    def abandon(self) -> bool:
        """True: no commit of this call will happen; False: one has begun, its answer is coming."""
        with self._lock:
            if not self._committing:
                self._abandoned = True
            return self._abandoned


_COMMIT_GUARD: contextvars.ContextVar[_CommitGuard | None] = contextvars.ContextVar(
    "capsight_commit_guard", default=None
)


async def call_with_deadline(fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
    """``fn(*args)`` in a thread, raising TimeoutError after ``timeout`` (default DB_CALL_TIMEOUT_S).

    Why: a database that accepts connections but never answers (a frozen server, a half-open
    connection the TCP settings have not caught yet) would hold the request as long as the driver
    waits. The thread runs on until the driver gives up; the connection pool bounds how many can.

    A write the thread gets to commit after the deadline is rolled back (the sessions of
    :meth:`Database.session` ask first): the client was answered 503, "retry", and the write landed
    anyway. A SQLite file locked by another worker for longer than the deadline did that: a feedback
    row the client sent again was kept twice, and a zip job answered 503 (its upload deleted) was
    created all the same and failed. A commit that had begun when the deadline passed is awaited
    and answered instead.
    """
    seconds = DB_CALL_TIMEOUT_S if timeout is None else timeout
    guard = _CommitGuard()

    def guarded() -> T:
        _COMMIT_GUARD.set(guard)  # this thread's copy of the caller's context only
        return fn(*args)

    task = asyncio.ensure_future(asyncio.to_thread(guarded))
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except TimeoutError:
        if guard.abandon():
            task.add_done_callback(_retrieve)  # the thread's own error, if any, is no news now
            raise
        return await task


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


_SQLALCHEMY_IMPORT = threading.Lock()
# Alembic keeps the running migration in module globals (``alembic.context``), so two migrations on
# two threads of one process (different databases: the cross-process locks do not order them) break
# each other (``KeyError: 'config'``). Taken innermost, after the database's own lock: no deadlock.
_ALEMBIC = threading.Lock()
_sqlalchemy_loaded = False


def load_sqlalchemy() -> None:
    """Import SQLAlchemy (and Alembic) on one thread at a time; call before any lazy import of them.

    Why: SQLAlchemy is imported lazily (it costs 0.4-0.6 s, off the path to "ready"), and at start-up
    the job worker and the request-log writer reach it on two threads at once. SQLAlchemy's packages
    import each other, and two threads importing them concurrently can leave one with a partially
    initialised module (``sqlalchemy.sql.roles``), after which every database call in the process
    failed until a restart (seen in about one start in eight on a busy 2-core machine).
    """
    global _sqlalchemy_loaded
    if _sqlalchemy_loaded:
        return
    with _SQLALCHEMY_IMPORT:
        if not _sqlalchemy_loaded:
            import importlib

            for name in ("sqlalchemy.orm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
                         "alembic.command", "capsight.store.models"):  # fmt: skip
                importlib.import_module(name)
            _sqlalchemy_loaded = True


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


def database_error(url: str, exc: BaseException) -> CapsightError | None:
    """``exc`` from opening or using the database at ``url`` as one line without the URL's password,
    or None when it is not a database failure.

    Why: the CLI is what an operator runs against a live deployment; a URL typo or a database that
    is down gave a page of SQLAlchemy traceback, the password of the URL included in some forms.
    """
    load_sqlalchemy()
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if isinstance(exc, sa_exc.NoSuchModuleError | ImportError):  # mysql://, a driver not shipped
        return BadRequest(f"CAPSIGHT_DATABASE_URL: unsupported database {scheme!r}; {DATABASE_URL_FORMS}")
    try:
        where = make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (sa_exc.ArgumentError, ValueError):  # a port that is no number is a plain ValueError
        where = None
    if isinstance(exc, sa_exc.ArgumentError) or (where is None and isinstance(exc, ValueError)):
        return BadRequest(f"CAPSIGHT_DATABASE_URL is not a database URL; {DATABASE_URL_FORMS}")
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    where = where or "CAPSIGHT_DATABASE_URL"
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else None
    reason = first_line(cause or exc)
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return ServiceUnavailable(f"cannot reach the database at {where}: {reason}")
    return CapsightError(f"database error at {where}: {reason}")


def alembic_config(connection: Any | None = None) -> Any:
    """The Alembic config of the packaged migrations; ``connection`` is handed to env.py."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Database:
    """Lazily created engine + session factory for one database URL."""

    def __init__(self, url: str, *, connect_timeout: float = 3.0) -> None:
        self.url = normalize_url(url)
        self.connect_timeout = connect_timeout
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()
        self._ready = False

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

        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, connect_args={"timeout": 15, "check_same_thread": False}, pool_pre_ping=True
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, int(self.connect_timeout))
            connect_args.update(_PG_TCP_ARGS)
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True, pool_size=5)

    def session(self) -> Session:
        """A new ORM session; migrations are run first if this process has not done so yet."""
        self.ensure_ready()
        _ = self.engine  # creates the session factory too
        assert self._sessions is not None
        session = self._sessions()
        guard = _COMMIT_GUARD.get()
        if guard is not None:  # made inside call_with_deadline: commit only while still wanted
            from sqlalchemy import event

            event.listen(session, "before_commit", guard.before_commit)
        return session

    def ensure_ready(self) -> None:
        """Run the migrations once per process; raises (and retries next call) while unreachable."""
        if self._ready:
            return
        self.migrate()

    def migrate(self, revision: str = "head") -> None:
        """``alembic upgrade <revision>`` on this database, serialised across processes."""
        load_sqlalchemy()
        from alembic import command
        from sqlalchemy import text

        engine = self.engine
        changed = False
        with self._migration_lock(), engine.connect() as connection, _sqlite_rebuilds_keep_rows(connection):
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            try:
                with _ALEMBIC:
                    newer = _unknown_revisions(connection) if revision == "head" else ()
                    if newer:
                        # A newer release migrated the shared database during a rolling update. Its
                        # migrations only add to the schema, so this replica keeps working with it
                        # instead of failing every database call until it is replaced.
                        logger.warning(
                            "database schema is at %s, newer than this release knows; using it as is",
                            ", ".join(newer),
                        )
                    else:
                        before = _current_revisions(connection)
                        command.upgrade(alembic_config(connection), revision)
                        changed = _current_revisions(connection) != before
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
        with self.engine.connect() as connection, _ALEMBIC:
            return _current_revisions(connection), _unknown_revisions(connection)

    def downgrade(self, revision: str) -> None:
        load_sqlalchemy()
        from alembic import command

        with self.engine.connect() as connection, _sqlite_rebuilds_keep_rows(connection), _ALEMBIC:
            command.downgrade(alembic_config(connection), revision)
            connection.commit()
        self._ready = False

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        load_sqlalchemy()
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            yield
            return
        lock_path = Path(url.database).with_name(Path(url.database).name + ".migrate.lock")
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
            if not url.database or url.database == ":memory:":
                yield  # one process: its recorder thread both writes and purges
                return
            lock_path = Path(url.database).with_name(Path(url.database).name + ".images.lock")
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


@contextlib.contextmanager
def _sqlite_rebuilds_keep_rows(connection: Any) -> Iterator[None]:
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


def _current_revisions(connection: Any) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(MigrationContext.configure(connection).get_current_heads())


def _unknown_revisions(connection: Any) -> tuple[str, ...]:
    """The database's current revisions that this release's migrations do not contain (written by
    a newer release); empty on an empty, older or current database."""
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    return tuple(rev for rev in _current_revisions(connection) if rev not in known)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the API read while the recorder writes; foreign keys make cascades work."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
