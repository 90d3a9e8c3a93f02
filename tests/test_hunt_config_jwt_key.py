"""CAPSIGHT_JWT_PUBLIC_KEY must be PEM text or a file holding it; anything else stops start-up.

A path with a typo (``/etc/capsight/jwt.pem`` not there) was taken as the key's text: the server
started, and every request with a bearer token was answered 503 "Authentication is temporarily
unavailable" with PyJWT's InvalidKeyError traceback in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from capsight.settings import InvalidSettings, Settings

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
# A real key: one that does not parse stops start-up.
PEM = _RSA.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


pytestmark = pytest.mark.usefixtures("clean_capsight_env")


def test_a_missing_key_file_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tmp_path / "jwt.pem")
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", missing)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_JWT_PUBLIC_KEY={missing!r}" in message
    assert "PEM" in message and "\n" not in message


def test_a_file_without_a_pem_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jwt.pem").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host\n")
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", str(tmp_path / "jwt.pem"))
    with pytest.raises(InvalidSettings, match="PEM"):
        Settings()


def test_pem_text_and_a_pem_file_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", PEM)
    assert Settings().jwt_public_key == PEM
    (tmp_path / "jwt.pem").write_text(PEM)
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", str(tmp_path / "jwt.pem"))
    assert Settings().jwt_public_key == str(tmp_path / "jwt.pem")


def test_a_key_file_under_home_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "jwt.pem").write_text(PEM)
    monkeypatch.setenv("CAPSIGHT_JWT_PUBLIC_KEY", "~/jwt.pem")
    assert Settings().jwt_public_key == str(tmp_path / "jwt.pem")
