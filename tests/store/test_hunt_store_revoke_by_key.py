"""`capsight keys revoke` given the key itself (what an operator holds when a key leaked) revokes it,
and never prints the secret back; it said "no API key with id 'cs_<id>_<secret>'" on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.store.database import Database
from capsight.store.keys import KeyStore


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    return Database(f"sqlite:///{tmp_path / 'capsight.db'}")


def test_revoking_by_the_key_itself(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    key_id, plaintext = KeyStore(db).create_key("leaked")
    assert main(["keys", "revoke", plaintext]) == 0
    out, err = capsys.readouterr()
    assert f"revoked {key_id}" in out
    secret = plaintext.split("_", 2)[2]
    assert secret not in out + err
    assert KeyStore(db).verify(plaintext) is None
    db.dispose()


def test_an_unknown_key_is_named_by_its_id_only(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    KeyStore(db).create_key("another")  # the database the server uses is there; this key is not in it
    assert main(["keys", "revoke", "cs_0123456789ab_thesecretpart"]) == 2
    err = capsys.readouterr().err
    assert "0123456789ab" in err and "thesecretpart" not in err
    db.dispose()
