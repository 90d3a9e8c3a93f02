"""A token whose subject is empty (or only spaces) is refused: every such token, from whatever
user its issuer minted it for, was one principal ``jwt:``, sharing one rate limit and each other's
jobs and request-log entries."""

from __future__ import annotations

import time

import jwt
import pytest

from capsight.errors import Unauthorized
from capsight.store.auth import JwtVerifier

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


@pytest.mark.parametrize("sub", ["", " ", "\t"])
def test_an_empty_subject_is_refused(sub: str) -> None:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="'sub'"):
        JwtVerifier(secret=SECRET).verify(token)


def test_a_subject_is_still_accepted() -> None:
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
    assert JwtVerifier(secret=SECRET).verify(token).name == "alice"
