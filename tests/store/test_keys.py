"""API keys: create, verify, list, revoke; only hashes are stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from capsight.errors import BadRequest, NotFound
from capsight.store.database import Database
from capsight.store.keys import KeyStore, hash_key, split_key
from capsight.store.models import ApiKey


def test_create_and_verify(database: Database) -> None:
    keys = KeyStore(database)
    key_id, plaintext = keys.create_key("alice", "admin", "10/second")
    assert plaintext.startswith(f"cs_{key_id}_") and len(plaintext) > 40
    info = keys.verify(plaintext)
    assert info is not None
    assert (info.id, info.name, info.scope, info.rate_limit, info.active) == (
        key_id,
        "alice",
        "admin",
        "10/second",
        True,
    )


def test_only_a_hash_is_stored(database: Database) -> None:
    key_id, plaintext = KeyStore(database).create_key("bob")
    with database.session() as session:
        row = session.get(ApiKey, key_id)
        values = [str(v) for v in session.execute(select(ApiKey.__table__)).one()]
    assert row is not None and row.key_hash == hash_key(plaintext)
    secret = plaintext.split("_", 2)[2]
    assert not any(secret in value for value in values)


def test_keys_are_unique(database: Database) -> None:
    keys = KeyStore(database)
    made = {keys.create_key("same name") for _ in range(5)}
    assert len({key_id for key_id, _ in made}) == 5 and len({p for _, p in made}) == 5


@pytest.mark.parametrize(
    "candidate",
    ["", "not-a-key", "cs_", "cs_abc", "cs__secret", "cs_" + "x" * 40 + "_secret"],
)
def test_malformed_keys_do_not_verify(database: Database, candidate: str) -> None:
    assert KeyStore(database).verify(candidate) is None


def test_tampered_or_unknown_keys_do_not_verify(database: Database) -> None:
    keys = KeyStore(database)
    key_id, plaintext = keys.create_key("carol")
    assert keys.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert keys.verify(f"cs_{key_id}_guessed") is None
    assert keys.verify("cs_000000000000_whatever") is None
    assert split_key(plaintext) == key_id


def test_revoke_takes_effect_at_once_in_this_process(database: Database) -> None:
    keys = KeyStore(database, cache_ttl_s=60)
    key_id, plaintext = keys.create_key("dave")
    assert keys.verify(plaintext) is not None  # now cached
    info = keys.revoke_key(key_id)
    assert not info.active and info.revoked_at is not None
    assert keys.verify(plaintext) is None
    assert keys.revoke_key(key_id).revoked_at == info.revoked_at  # idempotent


def test_revoke_reaches_other_replicas_after_their_cache_ttl(database: Database) -> None:
    here, there = KeyStore(database), KeyStore(Database(database.url), cache_ttl_s=0)
    key_id, plaintext = here.create_key("erin")
    assert there.verify(plaintext) is not None
    here.revoke_key(key_id)
    assert there.verify(plaintext) is None
    there.db.dispose()


def test_revoke_unknown_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound):
        KeyStore(database).revoke_key("nope")


def test_list_keys(database: Database) -> None:
    keys = KeyStore(database)
    a, _ = keys.create_key("a")
    b, _ = keys.create_key("b", rate="5/minute")
    keys.revoke_key(a)
    assert {k.id for k in keys.list_keys()} == {a, b}
    assert [k.id for k in keys.list_keys(include_revoked=False)] == [b]


@pytest.mark.parametrize(
    ("name", "scope", "rate"),
    [
        ("", "classify", None),
        ("  ", "classify", None),
        ("n" * 201, "classify", None),
        ("x", "root", None),
        ("x", "classify", "fast"),
        # control characters forged lines and colours in `capsight keys list` (a fake "active" row)
        ("robot\nffffffffffff  admin-robot             admin", "classify", None),
        ("\x1b[31mred", "classify", None),
        ("tab\there", "classify", None),
        # parses, but is longer than the column (PostgreSQL refused it with a DataError)
        ("x", "classify", "000000000000000000000000000001/minute"),
    ],
)
def test_invalid_key_parameters(database: Database, name: str, scope: str, rate: str | None) -> None:
    with pytest.raises(BadRequest):
        KeyStore(database).create_key(name, scope, rate)


def test_key_names_may_be_any_printable_text(database: Database) -> None:
    store = KeyStore(database)
    key_id, _ = store.create_key("Ünïcødé 名前 - the café's robot")
    [info] = store.list_keys()
    assert (info.id, info.name) == (key_id, "Ünïcødé 名前 - the café's robot")
