"""CAPSIGHT_AUTH_FAILURE_LIMIT: an address that keeps failing to authenticate gets 429 before its
credentials are looked up, so made-up API keys cannot load the key store or be guessed at speed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.fakes import KeyAuthenticator
from api.helpers import AppFactory, jpeg
from capsight.settings import Settings
from capsight.store.protocols import Principal, RateLimitDecision
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.services import Services

GOOD = {"X-API-Key": "good"}


class CountingAuthenticator(KeyAuthenticator):
    def __init__(self) -> None:
        super().__init__({"good": Principal(id="key:1", name="good")})
        self.calls = 0

    async def authenticate(
        self,
        headers: dict[str, str],
        client_ip: str,
        *,
        before_guess: Callable[[], Awaitable[None]] | None = None,
    ) -> Principal:
        if before_guess is not None:
            await before_guess()  # every key is looked up: a key store with an empty cache
        self.calls += 1
        return await super().authenticate(headers, client_ip)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _post(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers
    )


def _app(make_client: AppFactory, **settings: Any) -> tuple[TestClient, CountingAuthenticator, Clock]:
    clock, authenticator = Clock(), CountingAuthenticator()
    services = Services(authenticator=authenticator, rate_limiter=InProcessRateLimiter(clock=clock))
    client = make_client(services=services, auth_enabled=True, **settings)
    return client, authenticator, clock


def test_an_address_past_its_failures_gets_429_without_its_key_being_looked_up(
    make_client: AppFactory,
) -> None:
    client, authenticator, clock = _app(make_client, auth_failure_limit="3/minute")
    for headers in (None, {"X-API-Key": "guess-1"}, {"X-API-Key": "guess-2"}):
        assert _post(client, headers).status_code == 401
    assert authenticator.calls == 3
    clock.now += 30
    refused = _post(client, GOOD)  # even the right key: a guess that was right must not get through
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "Too many failed authentication attempts from this address; retry later."
    }
    assert int(refused.headers["retry-after"]) == 30  # when the first failure leaves the window
    assert "x-ratelimit-limit" not in refused.headers  # those headers describe a principal's own rate
    assert authenticator.calls == 3  # refused before the key store was asked
    clock.now += 31
    assert _post(client, GOOD).status_code == 200
    assert authenticator.calls == 4


def test_asking_counts_nothing_and_successes_never_count(make_client: AppFactory) -> None:
    client, _, clock = _app(make_client, auth_failure_limit="2/minute")
    for _ in range(5):
        assert _post(client, GOOD).status_code == 200
    assert _post(client, {"X-API-Key": "typo"}).status_code == 401
    assert _post(client, GOOD).status_code == 200
    assert _post(client, {"X-API-Key": "typo"}).status_code == 401
    assert _post(client, GOOD).status_code == 429
    clock.now += 59.0
    assert _post(client, GOOD).status_code == 429  # refusals do not push the window on
    clock.now += 1.5
    assert _post(client, GOOD).status_code == 200


def test_one_address_failing_does_not_lock_out_another(make_client: AppFactory) -> None:
    client, _, _ = _app(make_client, auth_failure_limit="1/minute")
    assert _post(client, {"X-API-Key": "guess"}).status_code == 401
    assert _post(client, GOOD).status_code == 429
    # The same app and event loop, another peer address (what the server sees as the client's IP).
    transport = client._transport
    assert transport.client == ("testclient", 50000)  # type: ignore[attr-defined]
    transport.client = ("10.0.0.2", 50000)  # type: ignore[attr-defined]
    try:
        assert _post(client, GOOD).status_code == 200
    finally:
        transport.client = ("testclient", 50000)  # type: ignore[attr-defined]
    assert _post(client, GOOD).status_code == 429


def test_an_empty_limit_turns_it_off(make_client: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_AUTH_FAILURE_LIMIT", "60/minute")
    assert Settings().auth_failure_limit == "60/minute"
    monkeypatch.setenv("CAPSIGHT_AUTH_FAILURE_LIMIT", "")
    assert Settings().auth_failure_limit is None
    client, authenticator, _ = _app(make_client, auth_failure_limit=None)
    for _ in range(40):
        assert _post(client, {"X-API-Key": "guess"}).status_code == 401
    assert _post(client, GOOD).status_code == 200 and authenticator.calls == 41


def test_an_unreadable_limit_is_refused_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_AUTH_FAILURE_LIMIT", "thirty a minute")
    with pytest.raises(ValueError, match=r"CAPSIGHT_AUTH_FAILURE_LIMIT=.thirty a minute.: invalid rate"):
        Settings()


class BrokenLimiter:
    async def hit(self, key: str, rate: str, *, record: bool = True) -> RateLimitDecision:
        raise ConnectionError("limiter backend down")


def test_a_broken_limiter_leaves_authentication_working(make_client: AppFactory) -> None:
    services = Services(authenticator=CountingAuthenticator(), rate_limiter=BrokenLimiter())
    client = make_client(services=services, auth_enabled=True, auth_failure_limit="1/minute")
    assert _post(client, {"X-API-Key": "guess"}).status_code == 401
    assert _post(client, {"X-API-Key": "guess"}).status_code == 401
    assert _post(client, GOOD).status_code == 200
