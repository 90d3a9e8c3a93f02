"""A failed request-log query is logged in one line: SQLAlchemy's text of a failed statement goes on
with the SQL and the filter's parameters over many lines."""

from __future__ import annotations

import logging

import pytest

from capsight.errors import ServiceUnavailable
from capsight.store import requestlog as requestlog_module
from capsight.store.database import Database
from capsight.store.requestlog import RequestLog
from servers import PostgresServer


@pytest.mark.postgres
def test_a_failed_listing_is_one_log_line(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(requestlog_module, "LIST_TIMEOUT_S", 0.5)
    url = postgres_server.create_schema()
    db, locker = Database(url), Database(url)
    log = RequestLog(db, None)
    log.list_requests()  # migrated
    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE classifications IN ACCESS EXCLUSIVE MODE")
    try:
        with (
            caplog.at_level(logging.WARNING, logger="capsight.store.requestlog"),
            pytest.raises(ServiceUnavailable),
        ):
            log.list_requests(client_id="key-secret-filter")
        [line] = [r.getMessage() for r in caplog.records if "request log query failed" in r.getMessage()]
        assert "\n" not in line and "key-secret-filter" not in line
        assert "statement timeout" in line  # the reason stays
    finally:
        hold.rollback()
        hold.close()
        db.dispose()
        locker.dispose()
