"""``capsight keys revoke`` of a key revoked before says so, with when, instead of "revoked" again.

Why: revoking twice printed ``revoked <id> (<name>)`` both times, so an operator answering a leak
who revoked the id from an old note could believe the leaked key was the one just stopped, when it
had been revoked long ago and the leaked one might still be live. Exit status stays 0 (idempotent:
scripts revoke without checking first).
"""

from __future__ import annotations

import argparse
import re
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


def test_revoking_a_revoked_key_says_when_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    db.migrate()
    key_id, _ = KeyStore(db).create_key("camera gate")

    assert run("keys", "revoke", key_id) == 0
    assert capsys.readouterr().out == f"revoked {key_id} (camera gate)\n"
    assert run("keys", "revoke", key_id) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"{key_id} \(camera gate\) was already revoked on "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC; nothing changed\n",
        out,
    ), out
