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


def test_an_expired_token_says_how_long_ago_and_when() -> None:
    """ "Token expired." told a client with a skewed clock, or one serving a cached token, nothing
    to tell the two apart: the refusal gives the seconds by this server's clock and the time."""
    token = jwt.encode({"sub": "u", "exp": 1_700_000_000}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized) as refused:
        JwtVerifier(secret=SECRET, leeway_seconds=45).verify(token)
    message = str(refused.value)
    ago = re.fullmatch(
        r"Token expired (\d+) s ago by this server's clock \('exp' 2023-11-14T22:13:20Z, past the "
        r"CAPSIGHT_JWT_LEEWAY_SECONDS=45 allowed for clock skew\): get a new token\.",
        message,
    )
    assert ago is not None, message
    assert abs(int(ago.group(1)) - (time.time() - 1_700_000_000)) <= 2


@pytest.mark.parametrize("exp", [-(10**20), -1e300])
def test_an_exp_no_calendar_holds_is_still_a_401(exp: float) -> None:
    """A signed token whose ``exp`` is before any date is expired all the same: the refusal shows
    the number (no date can), not a 503 of an overflow."""
    token = jwt.encode({"sub": "u", "exp": exp}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match=r"^Token expired \d+ s ago by this server's clock \('exp' -"):
        JwtVerifier(secret=SECRET).verify(token)
