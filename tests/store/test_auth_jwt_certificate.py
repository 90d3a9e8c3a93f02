"""CAPSIGHT_JWT_PUBLIC_KEY may be the identity provider's signing certificate (PEM).

Providers hand out a "signing certificate" (Auth0, ADFS, Entra ID's x5c): given as the key, it passed
the start-up check (it is PEM) and every bearer token was then answered 503 "Authentication is
temporarily unavailable", PyJWT's "Could not parse the provided public key" in the log. The
certificate's public key is now used, and checked against the algorithm like a bare key."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from capsight.settings import InvalidSettings, Settings
from capsight.store.auth import JwtVerifier


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "login.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize(("key", "algorithm"), [(RSA_KEY, "RS256"), (EC_KEY, "ES256")])
def test_a_signing_certificate_verifies_tokens(
    tmp_path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, algorithm: str
) -> None:
    (tmp_path / "idp.crt").write_text(_certificate(key))
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, key, algorithm=algorithm)
    for public_key in (str(tmp_path / "idp.crt"), _certificate(key)):
        assert JwtVerifier(public_key=public_key, algorithm=algorithm).verify(token).id.endswith("alice")


@pytest.mark.usefixtures("clean_capsight_env")
def test_a_certificate_whose_key_the_algorithm_cannot_use_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", _certificate(EC_KEY))
    with pytest.raises(InvalidSettings, match="CAPSIGHT_JWT_ALGORITHM=ES256"):
        Settings()
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "ES256")
    assert Settings().jwt_algorithm == "ES256"
