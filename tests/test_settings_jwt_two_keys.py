"""CAPSIGHT_JWT_SECRET and CAPSIGHT_JWT_PUBLIC_KEY together stop start-up, naming both.

The verifier checks with one key: given both, it took the public key and ignored the secret without
a word, so every HS256 token signed with that secret was answered 401 (and with
``CAPSIGHT_JWT_ALGORITHM=HS256`` the algorithm silently became RS256 as well)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from capsight.settings import InvalidSettings, Settings

SECRET = "s3cr3t-" + "k" * 40
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
PUBLIC_KEY = _RSA.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize("algorithm", [None, "HS256", "HS512", "RS256", "ES256"])
def test_a_secret_and_a_public_key_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, algorithm: str | None
) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_SECRET", SECRET)
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PUBLIC_KEY)
    if algorithm is not None:
        monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", algorithm)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert message.startswith(
        "invalid settings: CAPSIGHT_JWT_SECRET and CAPSIGHT_JWT_PUBLIC_KEY are both set"
    )
    assert "unset one" in message
    assert SECRET not in message and PUBLIC_KEY.splitlines()[1] not in message and "\n" not in message


def test_either_key_alone_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_SECRET", SECRET)
    assert Settings().jwt_secret == SECRET
    monkeypatch.delenv("CAPSIGHT_JWT_SECRET")
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PUBLIC_KEY)
    assert Settings().jwt_public_key == PUBLIC_KEY


def test_blank_secret_beside_a_public_key_is_no_second_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose's ``CAPSIGHT_JWT_SECRET: ${CAPSIGHT_JWT_SECRET:-}`` sets it empty: that is unset."""
    monkeypatch.setenv("CAPSIGHT_JWT_SECRET", "")
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PUBLIC_KEY)
    assert Settings().jwt_secret is None
