"""A retention longer than the calendar reaches back (CAPSIGHT_RETENTION_DAYS=1000000, "keep about
for ever") purges nothing: it raised OverflowError, every hour in the server and as a traceback from
`capsight db purge`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_records import make_record

from capsight.cli import main
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.requestlog import PurgeResult, RequestLog


@pytest.mark.parametrize("days", [1_000_000, 10**12])
def test_a_retention_past_year_one_purges_nothing(database: Database, tmp_path: Path, days: int) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    write_batch(database, blobs, [(make_record(created_at=datetime(1990, 1, 1, tzinfo=UTC)), None)])
    log = RequestLog(database, blobs)
    assert log.purge_older_than(days) == PurgeResult(0, 0, 0, 0)
    assert log.count() == 1


def test_db_purge_with_such_a_retention_setting_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CAPSIGHT_STORAGE_URL", raising=False)
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", "1000000")
    assert main(["db", "upgrade"]) == 0  # the server's database (purge refuses to make a new one)
    assert main(["db", "purge"]) == 0
    assert "purged 0 requests" in capsys.readouterr().out
