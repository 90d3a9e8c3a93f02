"""Per-address limits for IPv6 clients that carry an IPv4 address: behind a NAT64/SIIT translator
every IPv4 client arrives as 64:ff9b::<its IPv4>, all in one /64, so one client's requests (or failed
keys) locked out every other; a 6to4 host holds a whole /48 (2002:<IPv4>::/48), 65,536 /64s, and
took a fresh /64 every few requests. Each is counted by the IPv4 address inside."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.fakes import KeyAuthenticator
from api.helpers import AppFactory, jpeg
from capsight.store.protocols import Principal
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.services import Services


def _post_from(client: TestClient, address: str, key: str | None = None) -> int:
    client._transport.client = (address, 50000)  # type: ignore[attr-defined]  # the peer uvicorn would see
    headers = {"X-API-Key": key} if key else {}
    files = {"file": ("a.jpg", jpeg("closed"), "image/jpeg")}
    return client.post("/v1/classify", files=files, headers=headers).status_code


def test_nat64_clients_are_limited_one_by_one(make_client: AppFactory) -> None:
    client = make_client(services=Services(rate_limiter=InProcessRateLimiter()), rate_limit="2/minute")
    assert [_post_from(client, "64:ff9b::198.51.100.7") for _ in range(3)] == [200, 200, 429]
    assert _post_from(client, "64:ff9b::198.51.100.8") == 200  # another IPv4 client behind the translator


def test_a_6to4_host_is_limited_across_its_48(make_client: AppFactory) -> None:
    client = make_client(services=Services(rate_limiter=InProcessRateLimiter()), rate_limit="2/minute")
    assert [_post_from(client, f"2002:c633:6407:{net}::1") for net in (1, 2)] == [200, 200]
    assert _post_from(client, "2002:c633:6407:3::1") == 429
    assert _post_from(client, "2002:c633:6408:1::1") == 200  # 198.51.100.8's block


def test_failed_keys_from_one_nat64_client_lock_out_only_that_client(make_client: AppFactory) -> None:
    services = Services(
        authenticator=KeyAuthenticator({"good": Principal(id="key:1", name="good")}),
        rate_limiter=InProcessRateLimiter(),
    )
    client = make_client(services=services, auth_enabled=True, auth_failure_limit="3/minute")
    for guess in range(3):
        assert _post_from(client, "64:ff9b::198.51.100.7", f"guess-{guess}") == 401
    assert _post_from(client, "64:ff9b::198.51.100.7", "good") == 429
    assert _post_from(client, "64:ff9b::198.51.100.8", "good") == 200
