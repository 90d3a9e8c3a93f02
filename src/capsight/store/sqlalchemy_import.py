"""SQLAlchemy and Alembic imported on first use, by one thread at a time.

Split from ``database.py``: every module that touches the database (request log, keys, feedback,
jobs) calls :func:`load_sqlalchemy` before its lazy imports, most of them without needing the
:class:`~capsight.store.database.Database` handle's own code.
"""

from __future__ import annotations

import threading

from capsight.store.deadline import first_use_wait

_SQLALCHEMY_IMPORT = threading.Lock()
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
    # A request's call importing it, or waiting for the thread that does, is not on its own deadline:
    # on a loaded host the import alone took longer, and the first requests were answered 503.
    with first_use_wait(), _SQLALCHEMY_IMPORT:
        if not _sqlalchemy_loaded:
            import importlib

            for name in ("sqlalchemy.orm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
                         "alembic.command", "capsight.store.models"):  # fmt: skip
                importlib.import_module(name)
            _sqlalchemy_loaded = True
