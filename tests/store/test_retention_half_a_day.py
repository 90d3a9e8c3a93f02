"""CAPSIGHT_RETENTION_DAYS=0.5 keeps 12 hours: the server's purge and ``capsight db purge`` both
delete what is older than that and keep what is newer (the setting was an integer before)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_records import make_record

from capsight.cli import main
from capsight.settings import Settings
from capsight.store.blobs import open_blob_store
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.services import build_services


def _seed(data: Path) -> Database:
    """An answer 13 hours old and one 11 hours old."""
    data.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{data / 'capsight.db'}")
    db.migrate()
    now = datetime.now(UTC)
    items = [
        (make_record(request_id="13h", created_at=now - timedelta(hours=13)), None),
        (make_record(request_id="11h", created_at=now - timedelta(hours=11)), None),
    ]
    write_batch(db, open_blob_store(str(data / "images")), items)
    return db


def _logged(db: Database) -> set[str]:
    from sqlalchemy import select

    from capsight.store.models import RequestRow

    with db.session() as session:
        return set(session.scalars(select(RequestRow.request_id)))


@pytest.mark.parametrize("request_log", [True, False])
def test_the_servers_purge_keeps_half_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request_log: bool
) -> None:
    data = tmp_path / "data"
    db = _seed(data)
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", "0.5")  # as the operator writes it
    services = build_services(Settings(data_dir=data, request_log=request_log))
    try:
        deadline = time.monotonic() + 15
        while _logged(db) != {"11h"} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _logged(db) == {"11h"}
    finally:
        services.close()
        db.dispose()


def test_db_purge_uses_a_half_day_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _seed(tmp_path)
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", "0.5")
    try:
        assert main(["db", "purge"]) == 0
        assert "purged 1 request " in capsys.readouterr().out.replace(",", " ")
        assert _logged(db) == {"11h"}
    finally:
        db.dispose()
