"""GET /v1/requests on a PostgreSQL that holds its query (a table locked by a VACUUM FULL or a newer
release's migration) answers 503 after a bounded wait and frees its thread; it waited as long as the
lock was held, holding one of the few threads every other database call of the API runs on."""

from __future__ import annotations

import threading
import time

import pytest

from capsight.errors import ServiceUnavailable
from capsight.store import requestlog as requestlog_module
from capsight.store.database import Database
from capsight.store.requestlog import RequestLog
from servers import PostgresServer


@pytest.mark.postgres
def test_a_held_query_is_503_after_the_list_timeout(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requestlog_module, "LIST_TIMEOUT_S", 1.0)
    url = postgres_server.create_schema()
    db, locker = Database(url), Database(url)
    log = RequestLog(db, None)
    assert log.list_requests().items == []  # migrated, answering
    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE classifications IN ACCESS EXCLUSIVE MODE")
    released = threading.Event()

    def release() -> None:  # a bound on the test itself: without the timeout the query waits for this
        hold.rollback()
        released.set()

    timer = threading.Timer(20.0, release)
    timer.start()
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            log.list_requests()
        assert time.monotonic() - started < 10
        assert not released.is_set()
    finally:
        timer.cancel()
        if not released.is_set():
            release()
        hold.close()
        db.dispose()
        locker.dispose()
