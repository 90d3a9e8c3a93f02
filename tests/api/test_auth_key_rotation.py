"""``capsight keys create --replaces ID``: a new key that is the same client as the key it replaces.

Why: a client's answers, jobs and rate count under its key's id. Rotating a key (create a new one,
move the client to it, revoke the old) made the client a stranger to its own past: feedback on
yesterday's answers was recorded 202 and never matched (only a client's own answers may be
corrected), its running jobs answered 404, and during the overlap old and new each had a full
rate. A replacing key counts as the key it replaces; its scope and rate are the old key's unless
given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of
from api.logread import flush_log
from capsight.store import commands
from capsight.store.feedback import FeedbackStore
from capsight.store.keys import KeyStore


def _keys(client: TestClient) -> KeyStore:
    keys = runtime_of(client).services.keys
    assert keys is not None
    return keys


def _feedback(client: TestClient, key: str, request_id: str, index: int = 0) -> Any:
    body = {"request_id": request_id, "index": index, "label": "opened"}
    return client.post("/v1/feedback", json=body, headers={"X-API-Key": key})


def _classify(client: TestClient, key: str) -> str:
    r = client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers={"X-API-Key": key}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["request_id"])


def test_a_replacing_key_corrects_the_old_keys_answers(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = _keys(client)
    old_id, old = keys.create_key("shop", "classify", "50/minute")
    request_id = _classify(client, old)
    flush_log(client)
    new_id, new = keys.create_key("shop 2026", None, None, replaces=old_id)
    keys.revoke_key(old_id)
    info = keys.verify(new)
    assert info is not None and info.id == new_id and info.principal == old_id
    assert (info.scope, info.rate_limit) == ("classify", "50/minute")  # the old key's
    # Its own answers: an index the one-image request did not have is refused, not taken blind.
    wrong = _feedback(client, new, request_id, 3)
    assert wrong.status_code == 400, wrong.text
    r = _feedback(client, new, request_id)
    assert r.status_code == 202, r.text
    database = runtime_of(client).services.database
    assert database is not None
    assert len(FeedbackStore(database).match().matched) == 1


def test_an_unrelated_key_is_still_a_stranger(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = _keys(client)
    _, first = keys.create_key("shop")
    request_id = _classify(client, first)
    flush_log(client)
    _, other = keys.create_key("another shop")
    r = _feedback(client, other, request_id, 3)
    assert r.status_code == 202, r.text  # not its answer: recorded as sent, never matched


def test_replacing_a_replacement_keeps_the_first_identity(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = _keys(client)
    first_id, _ = keys.create_key("shop", "admin")
    second_id, _ = keys.create_key("shop b", None, replaces=first_id)
    _, third = keys.create_key("shop c", None, replaces=second_id)
    info = keys.verify(third)
    assert info is not None and info.principal == first_id and info.scope == "admin"


def test_the_cli_takes_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> str:
        parser = argparse.ArgumentParser()
        commands.register(parser.add_subparsers(dest="command"))
        args: Any = parser.parse_args(argv)
        assert args.handler(args) == 0
        return capsys.readouterr().out

    old_id = run("keys", "create", "--name", "robot", "--scope", "admin").split("id:")[1].split()[0]
    out = run("keys", "create", "--name", "robot v2", "--replaces", old_id)
    assert f"replaces {old_id}" in out
    from capsight.store.database import Database

    info = KeyStore(Database(f"sqlite:///{tmp_path / 'capsight.db'}")).verify(out.split("key:")[1].split()[0])
    assert info is not None and info.principal == old_id and info.scope == "admin"


def test_keys_list_says_which_client_a_replacing_key_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator auditing keys saw two unrelated rows: which client the new key acts as was
    nowhere, so revoking "the old one" by name was a guess."""
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> str:
        parser = argparse.ArgumentParser()
        commands.register(parser.add_subparsers(dest="command"))
        args: Any = parser.parse_args(argv)
        assert args.handler(args) == 0
        return capsys.readouterr().out

    old_id = run("keys", "create", "--name", "robot").split("id:")[1].split()[0]
    new_id = run("keys", "create", "--name", "robot v2", "--replaces", old_id).split("id:")[1].split()[0]
    entries = {e["id"]: e for e in map(json.loads, run("keys", "list", "--json").splitlines())}
    assert entries[old_id]["client"] == old_id and entries[new_id]["client"] == old_id
    (row,) = [line for line in run("keys", "list").splitlines() if line.startswith(new_id)]
    assert row.endswith(f"active, as {old_id}")
