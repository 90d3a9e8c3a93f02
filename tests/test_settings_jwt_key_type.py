"""A CAPSIGHT_JWT_PUBLIC_KEY whose type CAPSIGHT_JWT_ALGORITHM cannot use stops start-up.

An EC key (an ES256 identity provider) with the algorithm left at its default (HS256, verified as
RS256 with a public key) started a server that answered every token of that provider 401 "The
specified alg value is not allowed", and any RS256 token, which anyone can mint, 503 "Authentication
is temporarily unavailable" with PyJWT's InvalidKeyError traceback in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


def _pem(key: object) -> str:
    public = key.public_key()  # type: ignore[attr-defined]
    return str(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )


EC_P256 = _pem(ec.generate_private_key(ec.SECP256R1()))
EC_P384 = _pem(ec.generate_private_key(ec.SECP384R1()))
RSA = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
ED25519 = _pem(ed25519.Ed25519PrivateKey.generate())


@pytest.mark.parametrize(
    ("key", "algorithm", "suggested"),
    [
        (EC_P256, None, "ES256"),  # the default algorithm: verified as RS256
        (EC_P384, "RS256", "ES384"),
        (RSA, "ES256", "RS256"),
        (ED25519, "RS256", "EdDSA"),
        (RSA, "EdDSA", "RS256"),
    ],
)
def test_a_key_the_algorithm_cannot_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str, algorithm: str | None, suggested: str
) -> None:
    (tmp_path / "jwt.pem").write_text(key)
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", str(tmp_path / "jwt.pem"))
    if algorithm is not None:
        monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert message.startswith("invalid settings: CAPSIGHT_JWT_PUBLIC_KEY")
    assert f"CAPSIGHT_JWT_ALGORITHM={suggested}" in message and "\n" not in message


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [(EC_P256, "ES256"), (EC_P384, "ES384"), (RSA, None), (RSA, "RS256"), (RSA, "PS256"), (ED25519, "EdDSA")],
)
def test_a_key_that_fits_is_accepted(
    monkeypatch: pytest.MonkeyPatch, key: str, algorithm: str | None
) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", key)
    if algorithm is not None:
        monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    assert Settings().jwt_public_key == key


@pytest.mark.parametrize(
    "damaged",
    [
        "\n".join(RSA.splitlines()[:4] + RSA.splitlines()[-1:]),  # a paste that lost lines
        "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n",
    ],
)
def test_a_key_that_does_not_parse_is_refused(monkeypatch: pytest.MonkeyPatch, damaged: str) -> None:
    """It passed (PEM armour is all that was checked) and every bearer token was answered 503."""
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", damaged)
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "RS256")
    with pytest.raises(InvalidSettings, match="CAPSIGHT_JWT_PUBLIC_KEY holds no public key that can be read"):
        Settings()
