"""An image folder that takes no image while its probe passes (a full disk) does not flood the log.

Why: the probe proves the folder there and writable, which a full disk still is. Each recovery
then passed, reset the retry backoff and logged "backends reachable again", and the next batch
failed again and logged "image store unavailable", and every batch logged an ERROR ("could not
spool N records; wrote their rows without the images"): on a real full tmpfs holding the images and
the spool, 58 lines in 6 s at 17 requests a second; here, 38 outage lines in 2.25 s (6 now). A
recovery now keeps the backoff until a batch is written with its images, and the rows-only line is
logged once a minute with a count. The fault here: every shard folder an image could go to is a
file, and a folder sits where the spool's records file goes, so images and spool both fail while
the probe passes, as on a full disk.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig


def test_a_full_image_disk_is_logged_a_few_times_not_per_batch(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for shard in range(256):  # every image's first folder is taken by a file
        (images / f"{shard:02x}").write_bytes(b"")
    spool = tmp_path / "spool"
    (spool / "records.jsonl").mkdir(parents=True)  # the spool cannot take a record either
    config = RecorderConfig(batch_size=50, linger_s=0.0, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, LocalBlobStore(images), spool, config).start()
    try:
        assert recorder.flush(10), recorder.stats()
        with caplog.at_level(logging.INFO, logger="capsight.store"):
            for n in range(150):  # 2.25 s of load
                recorder.submit(make_record(request_id=f"full-{n}", image_sha256=None), os.urandom(2000))
                time.sleep(0.015)
            deadline = time.monotonic() + 10  # until the last batch has failed (and been logged) too
            while recorder.stats().written < 150 and time.monotonic() < deadline:
                time.sleep(0.01)
        stats = recorder.stats()
        messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        flaps = sum("image store unavailable" in m for m in messages)
        rows_only = sum("wrote their rows without the images" in m for m in messages)
        assert flaps <= 10, f"{flaps} outage lines in 2.25 s"
        assert rows_only == 1, f"{rows_only} rows-only lines in 2.25 s"
        assert stats.written + stats.queued + stats.writing == 150, stats  # every row kept
    finally:
        recorder.close()


def test_without_images_a_recovery_still_resets_the_backoff(tmp_path: Path) -> None:
    """Keeping the backoff past a recovery is for an image store the probe cannot vouch for; with
    no images to store, the probe proves everything, and a second outage must be retried at once,
    not after the first one's longest wait (no batch with images ever came to reset it)."""
    folder = tmp_path / "db"
    folder.write_bytes(b"")  # a file where the database's folder must be: a real outage
    database = Database(f"sqlite:///{folder / 'log.db'}")
    config = RecorderConfig(retry_initial_s=0.05, retry_max_s=0.2, store_images=False)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    recorder.start()
    try:
        deadline = time.monotonic() + 10  # tried and failed until the backoff is at its longest
        while recorder._backoff < config.retry_max_s and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.stats().degraded and recorder.stats().error is not None
        folder.unlink()
        folder.mkdir()
        assert recorder.flush(5), recorder.stats()
        recorder.submit(make_record(request_id="no-image"), b"bytes not kept")
        assert recorder.flush(5), recorder.stats()
        assert recorder._backoff == config.retry_initial_s
    finally:
        recorder.close()
        database.dispose()
