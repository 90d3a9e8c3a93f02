"""What a backend server answered is logged escaped: one log line each, no terminal escapes.

A Redis reply (``BUSY ...``) or an image store's error (an S3 server's message, a path) is text from
outside the process; written raw, a line break in it forged log lines and ESC rewrote the terminal.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.exceptions import BusyLoadingError
from store_records import make_record

from capsight.errors import ServiceUnavailable
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.logwriter import write_batch
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.redis_support import RedisBreaker
from capsight.store.requestlog import RequestLog

FORGED = "down\n2026-11-28 10:00:00 CRITICAL capsight: forged\x1b[2J"
ESCAPED = "down\\n2026-11-28 10:00:00 CRITICAL capsight: forged\\x1b[2J"


class FailingBlobStore(LocalBlobStore):
    """A store whose server answers every read and delete with ``FORGED``."""

    def get(self, sha256: str) -> bytes | None:
        raise OSError(FORGED)

    def delete(self, sha256: str) -> None:
        raise OSError(FORGED)

    def put(self, sha256: str, data: bytes) -> str:
        raise OSError(FORGED.replace("\n", " "))  # the outage line is its cause's first line


def _one_escaped_line(caplog: pytest.LogCaptureFixture, logger: str, escaped: str = ESCAPED) -> str:
    (message,) = [r.getMessage() for r in caplog.records if r.name == logger]
    assert message.isprintable() and escaped in message, message
    return message


def test_a_redis_reply_is_logged_escaped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="capsight.store.redis_support")
    RedisBreaker("cache").failed(BusyLoadingError(FORGED))
    assert _one_escaped_line(caplog, "capsight.store.redis_support").startswith("redis cache unavailable")


def test_an_image_store_read_error_is_logged_escaped(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="capsight.store.requestlog")
    with pytest.raises(ServiceUnavailable):
        RequestLog(database, FailingBlobStore(tmp_path / "images")).get_image("a" * 64)
    _one_escaped_line(caplog, "capsight.store.requestlog")


def test_an_image_store_delete_error_is_logged_escaped(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photo = b"a photo sent long ago"
    old = datetime.now(UTC) - timedelta(days=40)
    write_batch(
        database,
        LocalBlobStore(tmp_path / "images"),
        [(make_record(created_at=old, image_sha256=sha256_hex(photo)), photo)],
    )
    caplog.set_level(logging.WARNING, logger="capsight.store.requestlog")
    with pytest.raises(ServiceUnavailable):
        RequestLog(database, FailingBlobStore(tmp_path / "images")).purge_older_than(30)
    assert _one_escaped_line(caplog, "capsight.store.requestlog").startswith("retention purge")


def test_an_image_store_outage_is_logged_escaped(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The recorder's outage line quotes the cause's first line: escaped too."""
    config = RecorderConfig(batch_size=50, retry_initial_s=0.1, retry_max_s=0.5)
    recorder = DatabaseRecorder(database, FailingBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    caplog.set_level(logging.WARNING, logger="capsight.store.recorder")
    recorder.start()
    try:
        recorder.submit(make_record(image_sha256=sha256_hex(b"a photo")), b"a photo")
        assert not recorder.flush(0.2)  # spooled, not written
    finally:
        recorder.close(5)
    message = _one_escaped_line(caplog, "capsight.store.recorder", ESCAPED.replace("\\n", " "))
    assert message.startswith("request log: image store unavailable: ")
