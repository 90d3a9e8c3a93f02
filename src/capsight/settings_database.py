"""The check behind ``CAPSIGHT_DATABASE_URL``: a URL capsight can use, read as the store reads it.

Why a module of its own: it reads the URL with SQLAlchemy (as the store will), which the other
checks of :mod:`capsight.settings_checks` need not load, and together they outgrew one module.
"""

from __future__ import annotations


def known_database(value: str | None) -> str | None:
    """Refused here, not when first used: the server runs and retries the database in the
    background, so ``mysql://`` or ``postgre://`` logged a traceback per retry for ever."""
    from capsight.store.database import DATABASE_URL_FORMS, PG_SCHEMES
    from capsight.store.database_errors import PASSWORD_WITH_AT

    _DATABASE_SCHEMES = ("sqlite://", "sqlite+pysqlite://", "postgresql+psycopg://", *PG_SCHEMES)
    if value is not None and not value.startswith(_DATABASE_SCHEMES):
        raise ValueError(f"is not a database URL capsight can use; {DATABASE_URL_FORMS}")
    if value is not None and _password_runs_into_host(value):
        raise ValueError(f"{PASSWORD_WITH_AT}; {DATABASE_URL_FORMS}")
    if value is not None and value.startswith("sqlite") and _in_memory(value):
        # The schema was made on one connection; the request log's, on another, had no tables.
        raise ValueError(
            "is an in-memory SQLite database: each connection (and worker) of the server sees an empty "
            f"one of its own, and all it holds vanishes with the process; {DATABASE_URL_FORMS}"
        )
    return value


def _in_memory(url: str) -> bool:
    from capsight.store.sqlalchemy_import import load_sqlalchemy
    from capsight.store.sqlite_file import sqlite_file

    load_sqlalchemy()
    from sqlalchemy.exc import ArgumentError

    try:
        return sqlite_file(url) is None
    except (ArgumentError, ValueError):  # no URL at all: refused where it is used, naming the forms
        return False


def _password_runs_into_host(url: str) -> bool:
    """Refused at start-up too: ``serve`` retried such a URL in the background for ever, each retry's
    traceback quoting the end of the password as a host it could not resolve."""
    from capsight.store.database import normalize_url
    from capsight.store.database_errors import password_runs_into_host
    from capsight.store.sqlalchemy_import import load_sqlalchemy

    load_sqlalchemy()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return password_runs_into_host(make_url(normalize_url(url)))
    except (ArgumentError, ValueError):  # other refusals are the database's own, when it is opened
        return False
