"""The ``capsight keys`` and ``capsight db`` commands."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from store_records import make_record

from capsight.cli import main
from capsight.errors import BadRequest, NotFound
from capsight.store import commands
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.keys import KeyStore
from capsight.store.logwriter import write_batch
from capsight.store.requestlog import RequestLog
from servers import PostgresServer, free_port


def run(*argv: str) -> int:
    """Parse with only this area's subcommands, so other areas' work in progress cannot interfere."""
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args: Any = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CAPSIGHT_STORAGE_URL", raising=False)
    monkeypatch.delenv("CAPSIGHT_RETENTION_DAYS", raising=False)
    return tmp_path


def db_of(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'capsight.db'}")


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("keys", "create", "--name", "ci robot", "--scope", "admin", "--rate", "100/minute") == 0
    out = capsys.readouterr().out
    key_id = out.split("id:")[1].split()[0]
    plaintext = out.split("key:")[1].split()[0]
    db = db_of(data_dir)
    info = KeyStore(db).verify(plaintext)
    assert info is not None and (info.id, info.scope, info.rate_limit) == (key_id, "admin", "100/minute")

    assert run("keys", "list") == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "ci robot" in listing and "active" in listing
    assert plaintext.split("_", 2)[2] not in listing

    assert run("keys", "revoke", key_id) == 0
    assert f"revoked {key_id}" in capsys.readouterr().out
    assert KeyStore(db).verify(plaintext) is None
    assert run("keys", "list", "--json") == 0
    [entry] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert entry["id"] == key_id and entry["revoked_at"] is not None
    assert run("keys", "list", "--active") == 0
    assert key_id not in capsys.readouterr().out
    db.dispose()


def test_keys_errors(data_dir: Path) -> None:
    assert run("keys", "create", "--name", "another") == 0  # the server's database is there
    with pytest.raises(NotFound):
        run("keys", "revoke", "nope")
    with pytest.raises(BadRequest):
        run("keys", "create", "--name", "x", "--rate", "often")
    with pytest.raises(SystemExit):
        run("keys", "create", "--name", "x", "--scope", "root")  # argparse refuses the choice


def test_errors_become_exit_code_2_through_the_real_cli(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--name", "another"]) == 0  # the server's database is there
    capsys.readouterr()
    assert main(["keys", "revoke", "does-not-exist"]) == 2
    assert "no API key with id" in capsys.readouterr().err


def test_db_upgrade(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("db", "upgrade") == 0
    assert "database at head" in capsys.readouterr().out
    assert (data_dir / "capsight.db").is_file()


def test_db_upgrade_says_where_the_schema_is(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a schema a newer release migrated, ``db upgrade`` did nothing (rightly) but printed
    "database at head", exit 0: an operator checking a rolling update was told the opposite."""
    assert run("db", "upgrade") == 0
    head = capsys.readouterr().out.strip()
    assert head.startswith("database at head (") and head.endswith(")")
    db = db_of(data_dir)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    db.dispose()
    assert run("db", "upgrade") == 0
    out = capsys.readouterr().out
    assert "9999_from_the_future" in out and "newer than this release" in out
    assert "database at head" not in out


def test_db_upgrade_to_an_unknown_revision_is_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--revision", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: Cannot upgrade to 'bogus'") and "Traceback" not in err


def test_db_purge(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = db_of(data_dir)
    blobs = LocalBlobStore(data_dir / "images")
    old = datetime.now(UTC) - timedelta(days=10)
    write_batch(
        db,
        blobs,
        [
            (make_record(request_id="old", created_at=old, image_sha256=sha256_hex(b"o")), b"o"),
            (make_record(request_id="new"), None),
        ],
    )
    with pytest.raises(BadRequest):  # no --older-than-days and no retention setting
        run("db", "purge")
    assert run("db", "purge", "--older-than-days", "30") == 0
    assert "purged 0 requests" in capsys.readouterr().out
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", "7")
    assert run("db", "purge") == 0
    assert (
        "purged 1 request, 1 classification, 1 image, 0 feedback older than 7 days" in capsys.readouterr().out
    )
    assert [i.request_id for i in RequestLog(db, blobs).list_requests().items] == ["new"]
    assert list(blobs.iter_keys()) == []
    db.dispose()


@pytest.mark.postgres
def test_keys_on_postgres_via_environment(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.create_schema()
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", url.replace("postgresql+psycopg://", "postgresql://"))
    assert run("keys", "create", "--name", "pg") == 0
    plaintext = capsys.readouterr().out.split("key:")[1].split()[0]
    db = Database(url)
    assert KeyStore(db).verify(plaintext) is not None
    db.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://capsight:s3cret@127.0.0.1:{port}/capsight", "cannot reach the database"),
        ("postgresql://capsight:s3cret@no-such-host.invalid:5432/capsight", "cannot reach the database"),
        ("not a url s3cret", "not a database URL"),
        ("mysql://capsight:s3cret@127.0.0.1/capsight", "use sqlite:///PATH or postgresql://"),
        ("oracle+nosuchdriver://capsight:s3cret@127.0.0.1/capsight", "use sqlite:///PATH or postgresql://"),
    ],
)
@pytest.mark.parametrize(
    "argv", [["keys", "list"], ["keys", "create", "--name", "x"], ["db", "upgrade"], ["db", "status"]]
)
def test_a_wrong_or_unreachable_database_is_one_line_without_the_password(
    url: str,
    expected: str,
    argv: list[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An operator's typo in CAPSIGHT_DATABASE_URL, or a database that is down, printed a page of
    SQLAlchemy traceback (with exit 1); the URL's password must not reach the terminal or CI log."""
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", url.format(port=free_port()))
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 15
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("capsight: error: ") and expected in line, line
    assert "s3cret" not in line


# ------------------------------------------------------------------------------------- db status
def test_db_status_of_a_missing_database_creates_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("db", "status") == 1
    out = capsys.readouterr().out
    assert f"sqlite:///{data_dir / 'capsight.db'}" in out and "no database file yet" in out
    assert not (data_dir / "capsight.db").exists()
    assert run("db", "status", "--json") == 1
    assert json.loads(capsys.readouterr().out)["exists"] is False


def test_db_status_counts_what_the_database_holds(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from capsight.store.models import Job

    db = db_of(data_dir)
    old, new = datetime(2026, 1, 2, 3, 4, tzinfo=UTC), datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    write_batch(db, None, [(make_record(request_id="a", created_at=old), None)])
    write_batch(db, None, [(make_record(request_id="b", created_at=new), None)])
    keys = KeyStore(db)
    keys.create_key("one")
    keys.revoke_key(keys.create_key("two")[0])
    with db.session() as session, session.begin():
        session.add_all(
            [Job(id=f"j{i}", state=state) for i, state in enumerate(["queued", "failed", "failed"])]
        )
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", "30")

    assert run("db", "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("schema:") and "this release's head" in lines[1]
    assert "requests:        2 (oldest 2026-01-02 03:04 UTC, newest 2026-11-20 08:30 UTC)" in lines
    assert "classifications: 2" in lines
    assert "api keys:        1 active, 1 revoked" in lines
    assert "jobs:            failed 2, queued 1" in lines
    assert "feedback:        0 (`capsight feedback export`)" in lines
    assert "retention:       30 days (`capsight db purge`)" in lines

    assert run("db", "status", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema"]["verdict"] == "current" and report["schema"]["current"] == [
        report["schema"]["head"]
    ]
    assert (report["requests"], report["classifications"]) == (2, 2)
    assert report["oldest_request"] == old.isoformat() and report["newest_request"] == new.isoformat()
    assert report["jobs"] == {"failed": 2, "queued": 1}


def test_db_status_says_when_the_schema_needs_an_upgrade(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 when behind, so a deploy script can gate on it; a newer release's schema is usable (0)."""
    db = db_of(data_dir)
    db.migrate()
    db.downgrade("0003")
    db.dispose()
    assert run("db", "status") == 1
    out = capsys.readouterr().out
    assert "0003, behind this release's" in out and "run `capsight db upgrade`" in out
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM alembic_version")
    db.dispose()
    assert run("db", "status") == 1
    assert "empty, no tables yet" in capsys.readouterr().out
    with db.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    db.dispose()
    assert run("db", "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["schema"]["verdict"] == "newer"


def test_db_status_on_postgres_hides_the_password(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test server trusts local connections, so it accepts (and ignores) any password.
    url = postgres_server.create_schema().replace("://capsight@", "://capsight:s3cret@")
    assert ":s3cret@" in url
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", url)
    db = Database(url)
    write_batch(db, None, [(make_record(request_id="pg"), None)])
    db.dispose()
    assert run("db", "status") == 0
    out = capsys.readouterr().out
    assert "postgresql+psycopg://capsight:***@" in out and "requests:        1 (" in out
    assert "s3cret" not in out
