"""The connection pool of a database's engine: SQLAlchemy's QueuePool, whose wait for a connection
a request's database call bounds by its caller's deadline.

Why: with every pooled connection taken (the request log's writer, job workers, hung queries), a
call answered 503 at its 5 s deadline went on waiting for a connection for the pool's 30 s, holding
one of the request calls' 10 threads (``deadline.DB_THREADS``), and then ran its query for nobody.
Ten such calls and every request waited behind them. Imported with SQLAlchemy, on first use.
"""

from __future__ import annotations

from sqlalchemy.pool import QueuePool

from capsight.store.deadline import connection_wait


class CallerBoundPool(QueuePool):
    """QueuePool reads ``_timeout`` for each wait: here it is the pool's own timeout, bounded by the
    deadline of the request's call that this thread runs (see ``deadline.connection_wait``)."""

    # Its log lines under SQLAlchemy's pool logger, as QueuePool's: under capsight's own name, its
    # "Pool recreating" lines were INFO lines of every command that disposed of the engine.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.QueuePool"
    _configured_timeout: float

    @property
    def _timeout(self) -> float:
        return connection_wait(self._configured_timeout)

    @_timeout.setter
    def _timeout(self, value: float) -> None:
        self._configured_timeout = value

    def timeout(self) -> float:
        return self._configured_timeout

    def recreate(self) -> QueuePool:
        """A recreated pool (``dispose``) keeps the configured timeout, not a call's bound."""
        pool = super().recreate()
        pool._timeout = self._configured_timeout
        return pool
