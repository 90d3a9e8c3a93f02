"""CAPSIGHT_JWT_PUBLIC_KEY may be the identity provider's JWKS (its /.well-known/jwks.json, as text
or a file): each signing key is read once, and a token's ``kid`` picks its key.

Why: identity providers (Auth0, Okta, Keycloak, Google, Entra ID) publish their signing keys as a
JWKS, each key named by its ``kid``; PEM is what an operator had to make of it by hand, key by key.
A JWKS stopped start-up ("the file holds no PEM key"), and a hand-made PEM list lost the kids, so a
token was checked against each key in turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import jwt.algorithms
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from capsight.errors import Unauthorized
from capsight.settings import InvalidSettings, Settings
from capsight.store.auth import JwtVerifier

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

FIRST = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SECOND = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(private: Any, kid: str, **members: str) -> dict[str, Any]:
    public = private.public_key()
    algorithm = (
        jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    )
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid, **members}


def _jwks(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


def _token(private: Any, kid: str) -> str:
    claims = {"sub": "svc", "exp": int(time.time()) + 60}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    made: list[str] = []
    verify = jwt.algorithms.RSAAlgorithm.verify

    def counted(self: Any, msg: bytes, key: Any, sig: bytes) -> bool:
        made.append("signature")
        return bool(verify(self, msg, key, sig))

    monkeypatch.setattr(jwt.algorithms.RSAAlgorithm, "verify", counted)
    yield made


def test_a_jwks_file_or_text_is_taken_and_kid_picks_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signature_checks: list[str]
) -> None:
    document = _jwks(
        _jwk(FIRST, "2026-10", use="sig", alg="RS256"),
        _jwk(STRANGER, "encryption", use="enc"),  # an encryption key never verifies a token
        _jwk(SECOND, "2026-11"),
    )
    path = tmp_path / "jwks.json"
    path.write_text(document)
    for public_key in (str(path), document):
        monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", public_key)
        monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "RS256")
        settings = Settings()
        assert settings.jwt_public_key is not None
        verifier = JwtVerifier(public_key=settings.jwt_public_key, algorithm="RS256")
        for private, kid in ((FIRST, "2026-10"), (SECOND, "2026-11")):
            signature_checks.clear()
            assert verifier.verify(_token(private, kid)).id == "jwt:svc"
            assert signature_checks == ["signature"]
        signature_checks.clear()
        with pytest.raises(Unauthorized, match="Signature verification failed"):
            verifier.verify(_token(STRANGER, "2026-11"))  # a forgery naming a key: one check
        assert signature_checks == ["signature"]
        with pytest.raises(Unauthorized, match="Signature verification failed"):
            verifier.verify(_token(STRANGER, "encryption"))  # not a signing key: none takes it


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            _jwks(_jwk(FIRST, "a"), _jwk(EC_KEY, "b")),
            "JWK 2 of 2 (kid 'b'): CAPSIGHT_JWT_PUBLIC_KEY is an EC key",
        ),
        (_jwks(_jwk(FIRST, "a", use="enc")), "holds no signing key"),
        (
            json.dumps({"keys": [{"kty": "RSA", "kid": "cut", "n": "AQAB"}]}),
            "JWK 1 of 1 (kid 'cut'): cannot be read",
        ),
        ('{"keys": [', "is not JSON"),
        (_jwks({"kty": "oct", "kid": "hs", "k": "c2VjcmV0"}), "shared secret (kty 'oct')"),
    ],
)
def test_a_jwks_that_cannot_verify_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: str, expected: str
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(document)
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", str(path))
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "RS256")
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    assert expected in raised.value.message, raised.value.message


def test_a_kid_two_keys_share_names_neither_alone() -> None:
    """A JWKS ought to give each key its own kid; one that does not still verifies both keys'
    tokens (the kid then picks no key: each is tried), rather than refusing one key's."""
    verifier = JwtVerifier(public_key=_jwks(_jwk(FIRST, "dup"), _jwk(SECOND, "dup")), algorithm="RS256")
    assert verifier.verify(_token(FIRST, "dup")).id == "jwt:svc"
    assert verifier.verify(_token(SECOND, "dup")).id == "jwt:svc"
