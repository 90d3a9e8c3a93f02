"""Which refused tokens are RefusedClaims: signed with one of our keys, refused for a claim.

RefusedClaims is not counted under CAPSIGHT_AUTH_FAILURE_LIMIT (it guesses nothing), so a token
whose signature does not verify must never be one, whatever its claims: an attacker trying secrets
with expired tokens would otherwise guess without limit."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from capsight.errors import RefusedClaims, Unauthorized
from capsight.store.auth import JwtVerifier

SECRET = "capsight-test-secret-" + "r" * 24
PREVIOUS = "capsight-previous-secret-" + "p" * 24
WRONG = "capsight-guessed-secret-" + "g" * 24


def _token(secret: str = SECRET, **claims: Any) -> str:
    return jwt.encode({"sub": "svc", "exp": int(time.time()) + 60, **claims}, secret, algorithm="HS256")


def _verifier() -> JwtVerifier:
    return JwtVerifier(
        secret=SECRET, previous_secret=PREVIOUS, audience="capsight", issuer="https://login.example/"
    )


def _claims(**extra: Any) -> dict[str, Any]:
    return {"aud": "capsight", "iss": "https://login.example/", **extra}


@pytest.mark.parametrize("secret", [SECRET, PREVIOUS])
@pytest.mark.parametrize(
    "claims",
    [
        _claims(exp=int(time.time()) - 3600),
        _claims(nbf=int(time.time()) + 3600),
        {**_claims(), "aud": "billing"},
        {**_claims(), "iss": "https://evil.example/"},
        {"iss": "https://login.example/"},  # no aud
        _claims(sub=" "),
        _claims(scope=7),
        _claims(rate_limit="lots"),
    ],
)
def test_a_signed_token_refused_for_a_claim_is_refused_claims(secret: str, claims: dict[str, Any]) -> None:
    with pytest.raises(RefusedClaims):
        _verifier().verify(_token(secret, **claims))


@pytest.mark.parametrize(
    "claims", [_claims(), _claims(exp=int(time.time()) - 3600), {**_claims(), "aud": "billing"}]
)
def test_a_token_of_a_wrong_secret_is_a_counted_refusal_whatever_its_claims(
    claims: dict[str, Any],
) -> None:
    with pytest.raises(Unauthorized) as refused:
        _verifier().verify(_token(WRONG, **claims))
    assert not isinstance(refused.value, RefusedClaims)


def test_an_unsigned_or_tampered_token_is_a_counted_refusal() -> None:
    good = _token(**_claims()).split(".")
    expired = jwt.utils.base64url_encode(
        json.dumps({"sub": "admin", **_claims(exp=int(time.time()) - 10)}).encode()
    ).decode()
    none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    for token in (f"{good[0]}.{expired}.{good[2]}", f"{none_header}.{expired}."):
        with pytest.raises(Unauthorized) as refused:
            _verifier().verify(token)
        assert not isinstance(refused.value, RefusedClaims), refused.value
