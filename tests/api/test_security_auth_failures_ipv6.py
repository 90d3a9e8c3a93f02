"""CAPSIGHT_AUTH_FAILURE_LIMIT against a client with an IPv6 block: every host gets at least a /64,
so a limit per full address let it guess without end, one fresh source address every few guesses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.fakes import KeyAuthenticator
from api.helpers import AppFactory, jpeg
from capsight.store.protocols import Principal
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.services import Services


def _post_from(client: TestClient, address: str, key: str) -> int:
    client._transport.client = (address, 50000)  # type: ignore[attr-defined]  # the peer uvicorn would see
    r = client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers={"X-API-Key": key}
    )
    return r.status_code


def _client(make_client: AppFactory) -> TestClient:
    services = Services(
        authenticator=KeyAuthenticator({"good": Principal(id="key:1", name="good")}),
        rate_limiter=InProcessRateLimiter(),
    )
    return make_client(services=services, auth_enabled=True, auth_failure_limit="3/minute")


def test_new_addresses_in_one_ipv6_64_do_not_reset_the_failure_count(make_client: AppFactory) -> None:
    client = _client(make_client)
    for host in (1, 2, 3):
        assert _post_from(client, f"2001:db8:0:1::{host}", f"guess-{host}") == 401
    assert _post_from(client, "2001:db8:0:1:ffff::4", "guess-4") == 429
    assert _post_from(client, "2001:db8:0:1::5", "good") == 429  # the block, not the address, is limited
    assert _post_from(client, "2001:db8:0:2::1", "good") == 200  # the next /64 is someone else


def test_ipv4_addresses_are_still_counted_one_by_one(make_client: AppFactory) -> None:
    client = _client(make_client)
    for guess in range(3):
        assert _post_from(client, "198.51.100.7", f"guess-{guess}") == 401
    assert _post_from(client, "198.51.100.7", "good") == 429
    assert _post_from(client, "198.51.100.8", "good") == 200
    assert _post_from(client, "::ffff:198.51.100.9", "good") == 200
