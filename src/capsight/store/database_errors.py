"""A database failure as the one line an operator reads, without the URL's password.

Split from ``database.py``: only the CLI (``store/commands.py``) turns database errors into messages;
the handle itself raises SQLAlchemy's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsight.errors import BadRequest, CapsightError, ServiceUnavailable, first_line
from capsight.store.database import DATABASE_URL_FORMS, normalize_url
from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:
    from sqlalchemy import URL

POSTGRES_EXTRA = (
    "(pip install 'capsight[postgres]'; make serve installs only the core, the container image has it)"
)
PASSWORD_WITH_AT = (
    "the password cannot be told from the host; write '@' in it as %40 (and '/' as %2F, ':' as %3A)"
)


def password_runs_into_host(parsed: URL) -> bool:
    """A password with an unencoded "@" ("Tr0ub@dor/42"): SQLAlchemy ends it at the first "@" and
    reads the rest as host and database, so error lines and the driver's reason ("failed to resolve
    host 'dor'") showed part of it. ``parsed`` is SQLAlchemy's ``make_url`` of the URL."""
    return parsed.password is not None and "@" in f"{parsed.host or ''}{parsed.database or ''}"


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
    if isinstance(exc, ImportError) and scheme.lower().startswith("postgres"):
        # A core install (make serve) has no psycopg: "unsupported database" for the very URL form
        # the message then recommends sent the operator looking at the URL instead of the install.
        return BadRequest(f"CAPSIGHT_DATABASE_URL needs psycopg, which this install lacks {POSTGRES_EXTRA}")
    if isinstance(exc, sa_exc.NoSuchModuleError | ImportError):  # mysql://, a driver not shipped
        return BadRequest(f"CAPSIGHT_DATABASE_URL: unsupported database {scheme!r}; {DATABASE_URL_FORMS}")
    try:
        parsed = make_url(normalize_url(url))
        where = parsed.render_as_string(hide_password=True)
    except (sa_exc.ArgumentError, ValueError):  # a port that is no number is a plain ValueError
        where = None
    else:
        if password_runs_into_host(parsed):
            return BadRequest(f"CAPSIGHT_DATABASE_URL: {PASSWORD_WITH_AT}; {DATABASE_URL_FORMS}")
    if isinstance(exc, sa_exc.ArgumentError) or (where is None and isinstance(exc, ValueError)):
        return BadRequest(f"CAPSIGHT_DATABASE_URL is not a database URL; {DATABASE_URL_FORMS}")
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    where = where or "CAPSIGHT_DATABASE_URL"
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else None
    reason = first_line(cause or exc)
    if getattr(cause, "sqlstate", None) == "55P03":  # lock_not_available: see migrations/env.py
        return ServiceUnavailable(
            f"the database at {where} is busy: {reason} (a transaction left open holds a lock this "
            "needs; pg_stat_activity shows it); try again once it ends"
        )
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return ServiceUnavailable(f"cannot reach the database at {where}: {reason}")
    return CapsightError(f"database error at {where}: {reason}")
