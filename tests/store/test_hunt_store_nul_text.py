"""Text with a NUL character (a JWT subject, an error naming client input) in the request log:
SQLite stores it, PostgreSQL's text columns refuse it. One code base must log and find it on both."""

from __future__ import annotations

from pathlib import Path

from store_records import make_record

from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def test_a_record_with_a_nul_in_its_text_is_logged(database: Database, tmp_path: Path) -> None:
    recorder = DatabaseRecorder(database, None, tmp_path / "spool", FAST).start()
    recorder.submit(make_record(request_id="nul", client_id="jwt:a\x00b", error="bad input \x00 here"), None)
    assert recorder.flush(10)
    recorder.close()
    assert recorder.stats().rejected == 0
    [item] = RequestLog(database, None).list_requests().items
    assert item.client_id.startswith("jwt:a") and item.client_id.endswith("b")
    assert "\x00" not in item.client_id


def test_filters_with_a_nul_find_what_was_logged_and_are_not_an_outage(
    database: Database, tmp_path: Path
) -> None:
    recorder = DatabaseRecorder(database, None, tmp_path / "spool", FAST).start()
    recorder.submit(make_record(request_id="nul", client_id="jwt:a\x00b"), None)
    assert recorder.flush(10)
    recorder.close()
    log = RequestLog(database, None)
    assert [i.request_id for i in log.list_requests(client_id="jwt:a\x00b").items] == ["nul"]
    assert log.list_requests(label="clo\x00sed").items == []
    assert log.list_requests(model_version="\x00").items == []
