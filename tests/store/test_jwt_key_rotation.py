"""CAPSIGHT_JWT_PUBLIC_KEY may hold several PEM blocks (keys or certificates): a token signed by any
one of them is taken, so an identity provider's signing key can be rotated without an outage.

Why: identity providers publish the next signing key before they switch to it, and keep the old one
published until its tokens expire. With one key only the first PEM block was read (the others were
ignored without a word): tokens signed with the new key were refused 401 "Signature verification
failed" from the moment the provider switched until the operator changed the setting, and those of
the old key from then on, so every rotation was an outage for some clients.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from capsight.errors import Unauthorized
from capsight.settings import InvalidSettings, Settings
from capsight.store.auth import JwtVerifier

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

OLD = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEW = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _certificate(private: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _token(private: Any, algorithm: str = "RS256") -> str:
    return jwt.encode({"sub": "svc", "exp": int(time.time()) + 60}, private, algorithm=algorithm)


def test_a_token_of_any_listed_key_is_taken(tmp_path: Path) -> None:
    both = _pem(OLD) + _certificate(NEW)  # a key and the next one's signing certificate
    path = tmp_path / "idp.pem"
    path.write_text(both)
    for public_key in (both, str(path)):
        verifier = JwtVerifier(public_key=public_key, algorithm="RS256")
        assert verifier.verify(_token(OLD)).id == "jwt:svc"
        assert verifier.verify(_token(NEW)).id == "jwt:svc"
        with pytest.raises(Unauthorized, match="Signature verification failed"):
            verifier.verify(_token(STRANGER))


def test_claims_are_checked_with_the_key_that_signed() -> None:
    verifier = JwtVerifier(public_key=_pem(OLD) + _pem(NEW), algorithm="RS256")
    expired = jwt.encode({"sub": "svc", "exp": int(time.time()) - 3600}, NEW, algorithm="RS256")
    with pytest.raises(Unauthorized, match="Token expired"):
        verifier.verify(expired)


def test_every_listed_key_must_fit_the_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second block is checked as the first is: an EC key among RSA ones cannot verify RS256."""
    monkeypatch.setenv("CAPSIGHT_AUTH_ENABLED", "true")
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", _pem(OLD) + _pem(NEW))
    assert Settings().jwt_public_key
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", _pem(OLD) + _pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(InvalidSettings, match="EC key"):
        Settings()
