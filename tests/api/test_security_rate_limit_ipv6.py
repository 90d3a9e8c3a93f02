"""CAPSIGHT_RATE_LIMIT with auth off counts each client address; an IPv6 host holds a whole /64 and
took a fresh source address every few requests, so it was never limited."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.services import Services


def _post_from(client: TestClient, address: str) -> int:
    client._transport.client = (address, 50000)  # type: ignore[attr-defined]  # the peer uvicorn would see
    return client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}).status_code


def test_an_ipv6_client_is_limited_across_its_64(make_client: AppFactory) -> None:
    client = make_client(services=Services(rate_limiter=InProcessRateLimiter()), rate_limit="2/minute")
    assert [_post_from(client, f"2001:db8:0:7::{host}") for host in (1, 2)] == [200, 200]
    assert _post_from(client, "2001:db8:0:7:abcd::3") == 429
    assert _post_from(client, "2001:db8:0:8::1") == 200  # another block is another client
    assert [_post_from(client, "198.51.100.7") for _ in range(3)] == [200, 200, 429]
    assert _post_from(client, "198.51.100.8") == 200
