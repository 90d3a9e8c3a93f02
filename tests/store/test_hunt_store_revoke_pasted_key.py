"""`capsight keys revoke` given a leaked key as it was found: in a header line copied from a log
(``Authorization: Bearer cs_...``, ``X-API-Key: cs_...``) or with the blanks and quotes of a
copy-paste. It looked the whole text up as a key id, so the leaked key stayed valid, and the error
line printed the secret back ("no API key with id 'Bearer cs_<id>_<secret>'") on stderr."""

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


@pytest.mark.parametrize(
    "pasted",
    ["Bearer {key}", "Authorization: Bearer {key}", "X-API-Key: {key}", " {key}\n", "'{key}'", '"{key}",'],
)
def test_a_pasted_key_is_revoked_and_its_secret_never_printed(
    db: Database, capsys: pytest.CaptureFixture[str], pasted: str
) -> None:
    key_id, plaintext = KeyStore(db).create_key("leaked")
    code = main(["keys", "revoke", pasted.format(key=plaintext)])
    out, err = capsys.readouterr()
    assert plaintext.split("_", 2)[2] not in out + err
    assert code == 0, err
    assert f"revoked {key_id}" in out
    assert KeyStore(db).verify(plaintext) is None
    db.dispose()


def test_an_unknown_pasted_key_is_named_by_its_id_only(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    KeyStore(db).create_key("another")  # the database the server uses is there; this key is not in it
    assert main(["keys", "revoke", "Bearer cs_0123456789ab_thesecretpart"]) == 2
    err = capsys.readouterr().err
    assert "0123456789ab" in err and "thesecretpart" not in err
    db.dispose()
