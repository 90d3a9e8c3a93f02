"""CAPSIGHT_JWT_ISSUER may name several issuers, comma-separated: a token from any one is taken.

Why: a deployment moving from one identity provider (or tenant) to another, or serving the tokens
of two, must accept both issuers for a while; with one, the other's tokens were all refused 401.
A partial match is no match (PyJWT 2.10.0 took "https://login" for "https://login.example/"): the
issuers are handed over as a list, compared whole.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from capsight.errors import Unauthorized
from capsight.settings import InvalidSettings, Settings
from capsight.store.auth import JwtVerifier

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

SECRET = "capsight-test-secret-" + "x" * 24
ISSUERS = ["https://login.example/", "https://sts.example.net/tenant/"]


def _token(**claims: Any) -> str:
    return jwt.encode({"sub": "svc", "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")


def test_a_token_of_any_configured_issuer_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_ISSUER", " , ".join(ISSUERS).replace(" , ", ", "))
    settings = Settings()
    assert settings.jwt_issuers() == ISSUERS
    verifier = JwtVerifier(secret=SECRET, issuer=settings.jwt_issuers())
    for issuer in ISSUERS:
        assert verifier.verify(_token(iss=issuer)).id == "jwt:svc"
    for wrong in ("https://evil.example/", "https://login", "https://login.example/x"):
        with pytest.raises(Unauthorized) as refused:
            verifier.verify(_token(iss=wrong))
        assert str(refused.value) == (
            "Invalid token: issuer is not one of 'https://login.example/', 'https://sts.example.net/tenant/'."
        )
    with pytest.raises(Unauthorized, match="iss"):
        verifier.verify(_token())


def test_one_issuer_reads_as_before() -> None:
    verifier = JwtVerifier(secret=SECRET, issuer="https://login.example/")
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(_token(iss="https://login"))
    assert str(refused.value) == "Invalid token: issuer is not 'https://login.example/'."


def test_an_empty_issuer_in_the_list_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_ISSUER", "https://login.example/,")
    with pytest.raises(InvalidSettings, match=r"CAPSIGHT_JWT_ISSUER.*empty"):
        Settings()
