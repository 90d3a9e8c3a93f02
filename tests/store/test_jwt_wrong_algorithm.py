"""A token signed with another algorithm than the server's: the 401 says which one each side uses.

An identity provider signing RS256 while the server checks HS256 (or the other way round) is the usual
first mistake when wiring JWT auth, and the 401 said only "The specified alg value is not allowed":
neither the token's algorithm nor the one expected, nor the setting that picks it. The other JWT
refusals already say what was expected (the audience names it).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from capsight.errors import Unauthorized
from capsight.store.auth import JwtVerifier

SECRET = "a-test-secret-that-is-long-enough-for-hs512-signatures-as-well-0123"
CLAIMS = {"sub": "svc", "exp": int(time.time()) + 600}


def _pem_public(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_an_hs512_token_on_an_hs256_server_names_both_algorithms() -> None:
    token = jwt.encode(CLAIMS, SECRET, algorithm="HS512")
    with pytest.raises(Unauthorized) as refused:
        JwtVerifier(secret=SECRET).verify(token)
    assert str(refused.value) == (
        "Invalid token: signed with 'HS512'; this server accepts HS256 (CAPSIGHT_JWT_ALGORITHM)."
    )


def test_an_es256_token_on_an_rs256_server_names_both_algorithms() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    verifier = JwtVerifier(public_key=_pem_public(rsa_key), algorithm="RS256")
    with pytest.raises(Unauthorized, match=r"signed with 'ES256'; this server accepts RS256 \("):
        verifier.verify(jwt.encode(CLAIMS, ec_key, algorithm="ES256"))
    # Still refused, with the same kind of answer: an HS256 token "signed" with the public key text.
    with pytest.raises(Unauthorized, match=r"signed with 'HS256'; this server accepts RS256 \("):
        verifier.verify(jwt.encode(CLAIMS, "x" * 40, algorithm="HS256"))


def test_an_unsigned_token_is_named_as_such() -> None:
    token = jwt.encode(CLAIMS, None, algorithm="none")
    with pytest.raises(Unauthorized, match=r"signed with 'none'; this server accepts HS256 \("):
        JwtVerifier(secret=SECRET).verify(token)


def test_the_token_s_own_algorithm_text_is_quoted_and_clipped() -> None:
    """The header is the caller's text: quoted (escapes and all) and cut short in the answer."""
    header = jwt.utils.base64url_encode(b'{"alg":"' + b"X" * 200 + b'\\n","typ":"JWT"}').decode()
    payload = jwt.utils.base64url_encode(b'{"sub":"svc"}').decode()
    with pytest.raises(Unauthorized) as refused:
        JwtVerifier(secret=SECRET).verify(f"{header}.{payload}.c2ln")
    message = str(refused.value)
    assert "\n" not in message and len(message) < 160, message
    assert message.startswith("Invalid token: signed with 'XXXX") and "accepts HS256" in message
