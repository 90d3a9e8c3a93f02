"""CAPSIGHT_AUTH_FAILURE_LIMIT and JWTs whose signature verifies but whose claims are refused.

The limit slows down guessing of keys and secrets. A token signed with this server's key that has
expired (or is not valid yet, or is meant for another audience) guesses nothing: its client holds a
real credential and needs a fresh one. Counted as failures, one client looping on a stale token put
its address past the limit, and every new API key from that address (a NAT, an office) got 429."""

from __future__ import annotations

import time
from typing import Any

import jwt
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of

SECRET = "capsight-test-secret-" + "s" * 24


def _post(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers
    )


def _bearer(claims: dict[str, Any], secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}


def test_signed_but_refused_tokens_are_no_failed_logins(make_client: AppFactory) -> None:
    client = make_client(
        store=True,
        auth_enabled=True,
        auth_failure_limit="3/minute",
        jwt_secret=SECRET,
        jwt_audience="capsight",
    )
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, new_key = keys.create_key("office", "classify", None)
    now = int(time.time())
    stale = [
        _bearer({"sub": "app", "aud": "capsight", "exp": now - 3600}),  # expired
        _bearer({"sub": "app", "aud": "capsight", "exp": now + 3600, "nbf": now + 3600}),  # not yet
        _bearer({"sub": "app", "aud": "billing", "exp": now + 3600}),  # another service's token
    ]
    for _ in range(4):  # past the limit of 3 several times over
        for headers in stale:
            refused = _post(client, headers)
            assert refused.status_code == 401, refused.text  # still refused, and told why
            assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # The address made no guess: a key it never used before is looked up and served.
    assert _post(client, {"X-API-Key": new_key}).status_code == 200


def test_forged_tokens_still_count_as_failed_logins(make_client: AppFactory) -> None:
    """A token signed with a wrong secret is a guess of the secret: the limit stops it."""
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute", jwt_secret=SECRET)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, new_key = keys.create_key("office", "classify", None)
    forged = _bearer({"sub": "admin", "exp": int(time.time()) + 3600}, "guessed-secret-" + "g" * 24)
    for _ in range(3):
        assert _post(client, forged).status_code == 401
    assert _post(client, forged).status_code == 429
    assert _post(client, {"X-API-Key": new_key}).status_code == 429


def test_requests_without_credentials_are_no_failed_logins(make_client: AppFactory) -> None:
    """A request that sends no key guesses nothing and costs no lookup (a monitor probing a
    protected route, a script whose key variable is unset): counted, such requests from one office's
    address locked out every new key of that address with 429."""
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute")
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, new_key = keys.create_key("office", "classify", None)
    for headers in ({}, {"Authorization": "Bearer "}, {"X-API-Key": " "}) * 3:
        missing = _post(client, headers)
        assert missing.status_code == 401, missing.text
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="capsight"'
    assert _post(client, {"X-API-Key": new_key}).status_code == 200
