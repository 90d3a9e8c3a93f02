"""``capsight keys list`` with nothing to list says so instead of printing a bare header.

Why: ``keys list --active`` after every key was revoked printed only ``ID NAME SCOPE ...``, which
reads like output cut short (or a terminal that lost the rows) rather than "no key can be used now".
``--json`` stays empty: a script reading JSON lines gets no line, which is what zero keys are.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from capsight.store import commands
from capsight.store.database import Database
from capsight.store.keys import KeyStore


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args: Any = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeyStore:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    db.migrate()
    return KeyStore(db)


def test_no_keys_and_no_active_keys_are_said(keys: KeyStore, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("keys", "list"), ("keys", "list", "--active")):
        assert run(*argv) == 0
        assert capsys.readouterr().out == "no API keys (capsight keys create --name NAME makes one)\n"

    key_id, _ = keys.create_key("camera gate")
    keys.revoke_key(key_id)
    assert run("keys", "list", "--active") == 0
    assert capsys.readouterr().out == "no active keys (1 revoked: capsight keys list shows them)\n"
    assert run("keys", "list", "--active", "--json") == 0
    assert capsys.readouterr().out == ""
    assert run("keys", "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "NAME", "SCOPE", "RATE", "CREATED", "STATUS"]
    assert len(out) == 2 and out[1].startswith(key_id) and "revoked" in out[1]
