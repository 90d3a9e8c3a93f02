"""A token refused as not valid yet (``nbf`` or ``iat`` ahead of this server's clock) says by how
much, and which setting allows for clock skew.

Why: an identity provider whose clock runs ahead of the server's by more than the leeway (30 s by
default) has every fresh token refused for its first seconds: 401 "Invalid token: The token is not
yet valid (iat)", PyJWT's words, which named neither the skew nor CAPSIGHT_JWT_LEEWAY_SECONDS, so
clients retried at random and the operator went looking at the keys.
"""

from __future__ import annotations

import re
import time

import jwt
import pytest

from capsight.errors import Unauthorized
from capsight.store.auth import JwtVerifier

SECRET = "capsight-test-secret-" + "x" * 24


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_from_the_future_names_the_skew_and_the_setting(claim: str) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "u", "exp": now + 600, claim: now + 120}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized) as refused:
        JwtVerifier(secret=SECRET, leeway_seconds=30).verify(token)
    message = str(refused.value)
    assert message.startswith(f"Invalid token: not valid yet ('{claim}' is ")
    ahead = re.search(r"is (\d+) s ahead of this server's clock", message)
    assert ahead is not None and 115 <= int(ahead.group(1)) <= 121, message
    assert "CAPSIGHT_JWT_LEEWAY_SECONDS=30" in message


def test_within_the_leeway_it_is_taken() -> None:
    now = int(time.time())
    token = jwt.encode(
        {"sub": "u", "exp": now + 600, "nbf": now + 10, "iat": now + 10}, SECRET, algorithm="HS256"
    )
    assert JwtVerifier(secret=SECRET, leeway_seconds=30).verify(token).id == "jwt:u"
