"""A token's scopes are read from ``scp`` when it carries no ``scope``: Okta and Microsoft Entra ID
put them there (Okta as a list, Entra as a space-separated string).

Why: only ``scope`` was read, so an admin token of those providers was taken as a classify token
without a word and answered 403 "This token lacks the 'admin' scope." on every admin route, while
the token plainly listed it.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from capsight.errors import Unauthorized
from capsight.store.auth import JwtVerifier

SECRET = "capsight-test-secret-" + "x" * 24


def _verify(**claims: Any) -> frozenset[str]:
    token = jwt.encode({"sub": "u", "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")
    return JwtVerifier(secret=SECRET).verify(token).scopes


def test_scp_as_a_list_or_a_string_is_read() -> None:
    assert _verify(scp=["classify", "admin"]) == {"classify", "admin"}
    assert _verify(scp="admin classify") == {"classify", "admin"}


def test_scope_wins_when_both_are_there() -> None:
    assert _verify(scope="classify", scp=["admin"]) == {"classify"}


def test_neither_is_classify_and_a_malformed_scp_is_refused() -> None:
    assert _verify() == {"classify"}
    with pytest.raises(Unauthorized, match="'scp' must be a string or a list of strings"):
        _verify(scp=5)
