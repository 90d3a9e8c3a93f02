"""A credential that is neither an API key (``cs_...``) nor shaped like a JWT is told so.

Why: with JWTs configured, anything not starting ``cs_`` was read as a token, so an API key pasted
without its prefix (or a key of another service) was answered 401 "Invalid token: Not enough
segments", PyJWT's words about a token the caller never meant to send.
"""

from __future__ import annotations

import asyncio

import jwt
import pytest

from capsight.errors import Unauthorized
from capsight.store.auth import ApiKeyAuthenticator, JwtVerifier

SECRET = "capsight-test-secret-" + "x" * 24


@pytest.mark.parametrize("credential", ["3f9c2a1b7d4e_sI7k-secretpart", "sk-live-abc123"])
def test_a_credential_that_is_no_token_says_what_is_expected(credential: str) -> None:
    auth = ApiKeyAuthenticator(None, JwtVerifier(secret=SECRET))
    with pytest.raises(Unauthorized) as refused:
        asyncio.run(auth.authenticate({"X-API-Key": credential}, "127.0.0.1"))
    assert str(refused.value) == (
        "Invalid credentials: neither an API key (cs_...) nor a JWT (three dot-separated parts)."
    )


def test_a_broken_token_is_still_named_a_token() -> None:
    auth = ApiKeyAuthenticator(None, JwtVerifier(secret=SECRET))
    with pytest.raises(Unauthorized, match=r"^Invalid token: "):
        asyncio.run(auth.authenticate({"Authorization": "Bearer abc.def.ghi"}, "127.0.0.1"))


def test_a_token_sent_to_a_server_without_jwt_settings_is_told_so() -> None:
    """With no CAPSIGHT_JWT_SECRET or CAPSIGHT_JWT_PUBLIC_KEY (forgotten on one replica, or the
    client pointed at another deployment), a JWT was answered "Invalid API key.", and its client
    went looking for an API key it never had."""
    token = jwt.encode({"sub": "svc", "exp": 2_000_000_000}, SECRET, algorithm="HS256")
    auth = ApiKeyAuthenticator(None)
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
        with pytest.raises(Unauthorized) as refused:
            asyncio.run(auth.authenticate(headers, "127.0.0.1"))
        assert str(refused.value) == (
            "Invalid credentials: a JWT (three dot-separated parts), but this server takes API keys "
            "(cs_...) only: neither CAPSIGHT_JWT_SECRET nor CAPSIGHT_JWT_PUBLIC_KEY is set."
        )
    with pytest.raises(Unauthorized, match=r"^Invalid API key\.$"):  # anything else: as before
        asyncio.run(auth.authenticate({"X-API-Key": "sk-live-abc123"}, "127.0.0.1"))
