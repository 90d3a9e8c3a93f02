"""A key database that answers too slowly is as unreachable, to a request, as one that is down: a key
verified before keeps working from the cache, as it does when the database refuses connections.
It was 503 for every API-key request after the 5 s deadline, while a dead database let them in."""

from __future__ import annotations

import asyncio

import pytest

from capsight.errors import ServiceUnavailable
from capsight.store import deadline
from capsight.store.auth import ApiKeyAuthenticator
from capsight.store.database import Database
from capsight.store.keys import KeyStore
from servers import PostgresServer


@pytest.mark.postgres
def test_a_known_key_is_served_from_the_cache_while_the_database_hangs(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", 1.0)
    url = postgres_server.create_schema()
    db, locker = Database(url), Database(url)
    keys = KeyStore(db, cache_ttl_s=0.0)  # every lookup asks the database
    _, known = keys.create_key("known")
    _, unknown = keys.create_key("never seen by this replica")
    auth = ApiKeyAuthenticator(keys)
    assert asyncio.run(auth.authenticate({"X-API-Key": known}, "198.51.100.9")).name == "known"

    hold = locker.engine.connect()
    hold.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")  # a hanging database

    async def during_the_hang() -> tuple[object, object]:
        """Both lookups on one loop, the lock released before it closes: the threads of its
        timed-out lookups wait for the lock."""
        try:
            results = await asyncio.gather(
                auth.authenticate({"X-API-Key": known}, "198.51.100.9"),
                auth.authenticate({"X-API-Key": unknown}, "198.51.100.9"),
                return_exceptions=True,
            )
        finally:
            hold.rollback()
            hold.close()
        return results[0], results[1]

    try:
        principal, refused = asyncio.run(during_the_hang())
        assert not isinstance(principal, BaseException), f"a known key was refused: {principal!r}"
        assert principal.name == "known"  # type: ignore[attr-defined]
        assert isinstance(refused, ServiceUnavailable)  # nothing cached: still 503, never a guess
    finally:
        deadline.wait_for_calls(10)  # the timed-out lookups' threads, which asyncio.run does not join
        db.dispose()
        locker.dispose()
