"""A key revoked while this replica was not using it stays refused when the database goes away.

Why: verified keys are cached, and while the database is down (or hangs) a replica accepts the keys
it verified before, so that a blip does not lock its active clients out. But "verified before" had
no bound: a key this replica last verified hours ago, then revoked (it leaked) by ``capsight keys
revoke`` while the database answered, was accepted again the moment the database stopped
answering. Measured before the fix: 200 for the revoked key, both with PostgreSQL stopped and hung.
Now only keys that were still fresh in the cache when the database last answered are kept.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of
from capsight.store.database import Database
from capsight.store.keys import KeyStore
from servers import start_postgres

TTL_S = 0.3


def _classify(client: TestClient, key: str) -> int:
    files = {"file": ("a.jpg", jpeg("closed"), "image/jpeg")}
    return client.post("/v1/classify", files=files, headers={"X-API-Key": key}).status_code


@pytest.mark.postgres
@pytest.mark.slow
def test_a_key_revoked_elsewhere_is_not_revived_by_an_outage(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import capsight.store.deadline as deadline

    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", 1.0)
    with start_postgres() as server:
        client = make_client(store=True, database_url=server.url(), auth_enabled=True, cache_size=0)
        keys = runtime_of(client).services.keys
        assert keys is not None
        keys.cache_ttl_s = TTL_S
        _, active = keys.create_key("active client")
        leaked = [keys.create_key(f"leaked {n}")[1] for n in range(2)]
        assert [_classify(client, key) for key in (active, *leaked)] == [200, 200, 200]  # all cached

        elsewhere_db = Database(server.url())  # `capsight keys revoke`, another process
        try:
            for key in leaked:
                KeyStore(elsewhere_db).revoke_key(key)
        finally:  # its pooled connection, left open, was collected during a later test (ResourceWarning)
            elsewhere_db.dispose()
        time.sleep(TTL_S * 2)  # this replica has not used the leaked keys since: still in its cache

        assert _classify(client, active) == 200  # the database answers; the active key is fresh
        with server.frozen():  # hangs: lookups run past their deadline
            assert _classify(client, active) == 200  # a blip does not lock active clients out
            assert _classify(client, leaked[0]) == 503
        assert _classify(client, leaked[0]) == 401  # thawed: the revocation is seen

        assert _classify(client, active) == 200
        server.stop("immediate")  # down: lookups fail at once
        assert _classify(client, active) == 200
        assert _classify(client, leaked[1]) == 503
