"""`capsight keys create --replaces ID` for a key already revoked (a leak: revoke first, then give the
client a new key that keeps its jobs and answers) said "revoke that one once unused": an operator
following it ran `keys revoke` again, or went looking for what still used the revoked key."""

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


def test_replacing_a_revoked_key_says_it_is_revoked_already(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    old_id, _ = KeyStore(db).create_key("leaked")
    KeyStore(db).revoke_key(old_id)
    assert main(["keys", "create", "--name", "new", "--replaces", old_id]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("This key replaces")]
    assert old_id in line and "once unused" not in line and "already revoked" in line
    db.dispose()


def test_replacing_an_active_key_asks_to_revoke_it_once_unused(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    old_id, _ = KeyStore(db).create_key("current")
    assert main(["keys", "create", "--name", "next", "--replaces", old_id]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("This key replaces")]
    assert old_id in line and "revoke that one once unused" in line
    db.dispose()
