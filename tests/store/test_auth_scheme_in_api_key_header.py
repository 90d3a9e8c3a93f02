"""An Authorization value pasted into X-API-Key ("Bearer cs_...") is told so.

Why: a client configured with the header name X-API-Key and the value of an Authorization header
(Postman's "API Key" auth, a gateway's header-mapping rule) sent "Bearer cs_...": it was answered
401 "Invalid API key." (or, with JWTs on, "neither an API key (cs_...) nor a JWT"), so its owner
revoked and re-created a key that was right all along, and got the same answer.
"""

from __future__ import annotations

import asyncio

import pytest

from capsight.errors import Unauthorized
from capsight.store.auth import ApiKeyAuthenticator, JwtVerifier
from capsight.store.database import Database
from capsight.store.keys import KeyStore

SECRET = "capsight-test-secret-" + "b" * 24


@pytest.mark.parametrize("with_jwt", [False, True])
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_a_scheme_in_the_api_key_header_is_named(sqlite_db: Database, with_jwt: bool, scheme: str) -> None:
    keys = KeyStore(sqlite_db)
    _, key = keys.create_key("svc", "classify", None)
    auth = ApiKeyAuthenticator(keys, JwtVerifier(secret=SECRET) if with_jwt else None)
    guesses: list[None] = []

    async def count() -> None:
        guesses.append(None)

    with pytest.raises(Unauthorized) as refused:
        asyncio.run(auth.authenticate({"X-API-Key": f"{scheme} {key}"}, "198.51.100.9", before_guess=count))
    assert str(refused.value) == (
        f"Invalid credentials: X-API-Key holds '{scheme} ...'; send the key alone in X-API-Key "
        "(X-API-Key: cs_...) or with its scheme in Authorization (Authorization: Bearer cs_...)."
    )
    assert guesses == []  # no lookup was made: no guess under the failure limit
    # The key itself is fine, sent either way.
    assert asyncio.run(auth.authenticate({"X-API-Key": key}, "198.51.100.9")).name == "svc"


@pytest.mark.parametrize("with_jwt", [False, True])
def test_a_scheme_given_twice_in_authorization_is_named(sqlite_db: Database, with_jwt: bool) -> None:
    """'Authorization: Bearer Bearer cs_...': a client library that adds the scheme itself, given
    a value that already has it."""
    keys = KeyStore(sqlite_db)
    _, key = keys.create_key("svc", "classify", None)
    auth = ApiKeyAuthenticator(keys, JwtVerifier(secret=SECRET) if with_jwt else None)
    with pytest.raises(Unauthorized) as refused:
        asyncio.run(auth.authenticate({"Authorization": f"Bearer Bearer {key}"}, "198.51.100.9"))
    assert str(refused.value) == (
        "Invalid credentials: Authorization holds 'Bearer Bearer ...'; send the scheme once "
        "(Authorization: Bearer cs_...)."
    )
