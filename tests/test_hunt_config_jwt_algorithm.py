"""CAPSIGHT_JWT_ALGORITHM that does not fit the key configured is refused at start-up.

``CAPSIGHT_JWT_ALGORITHM=RS256`` with only ``CAPSIGHT_JWT_SECRET`` set started a server that
verified HS256 with the secret (the algorithm was silently replaced), so every RS256 token of the
identity provider was answered 401 "The specified alg value is not allowed"; HS384/HS512 with only
``CAPSIGHT_JWT_PUBLIC_KEY`` silently became RS256 the same way."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from capsight.settings import InvalidSettings, Settings

SECRET = "k" * 40
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
# A real key: one that does not parse stops start-up.
PUBLIC_KEY = _RSA.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
_EC = ec.generate_private_key(ec.SECP256R1()).public_key()
EC_PUBLIC_KEY = _EC.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "PS512", "EdDSA"])
def test_an_asymmetric_algorithm_without_a_public_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, algorithm: str
) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_SECRET", SECRET)
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_JWT_ALGORITHM={algorithm!r}" in message
    assert "CAPSIGHT_JWT_PUBLIC_KEY" in message
    assert SECRET not in message and "\n" not in message


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_an_hmac_algorithm_with_only_a_public_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, algorithm: str
) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    assert f"CAPSIGHT_JWT_ALGORITHM={algorithm!r}" in raised.value.message
    assert "CAPSIGHT_JWT_SECRET" in raised.value.message


@pytest.mark.parametrize(
    ("secret", "public_key", "algorithm"),
    [
        (SECRET, None, "HS256"),
        (SECRET, None, "HS512"),
        (None, PUBLIC_KEY, "HS256"),  # the default algorithm with a public key: RS256, as documented
        (None, EC_PUBLIC_KEY, "ES256"),
        (None, None, "RS256"),  # no JWT auth configured: nothing to contradict
    ],
)
def test_fitting_combinations_are_accepted(
    monkeypatch: pytest.MonkeyPatch, secret: str | None, public_key: str | None, algorithm: str
) -> None:
    for name, value in (("JWT_SECRET", secret), ("JWT_PUBLIC_KEY", public_key)):
        if value is not None:
            monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    assert Settings().jwt_algorithm == algorithm


def test_whitespace_around_the_algorithm_and_host_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """``RS256 `` was refused "expected one of HS256, ..., RS256, ..."; `` 0.0.0.0`` reached the
    socket as a name that resolves to nothing."""
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PUBLIC_KEY)
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "RS256 ")
    monkeypatch.setenv("CAPSIGHT_HOST", " 0.0.0.0\n")
    settings = Settings()
    assert (settings.jwt_algorithm, settings.host) == ("RS256", "0.0.0.0")
