"""Alembic environment of capsight's schema.

capsight calls Alembic programmatically and hands over an open connection in
``config.attributes["connection"]``; the alembic CLI path (``-x url=...`` or ``CAPSIGHT_DATABASE_URL``)
opens its own. Logging is only configured on the CLI path, so migrating at service start-up never
replaces the application's logging set-up.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from capsight.store import alembic_support
from capsight.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # A migration waiting for a table lock (an index on jobs waits for an open transaction
            # that wrote to it) queues every later writer of every replica behind it: it gives up
            # instead, and the next first use tries again. LOCAL: until this transaction ends.
            ms = int(alembic_support.MIGRATION_LOCK_TIMEOUT_S * 1000)
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        context.run_migrations()


def _cli_url() -> str:
    from capsight.settings import Settings
    from capsight.store.database import normalize_url

    url = context.get_x_argument(as_dictionary=True).get("url") or Settings().resolved_database_url()
    return normalize_url(url)


def main() -> None:
    connection: Any = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        context.configure(url=_cli_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_cli_url())
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


main()
