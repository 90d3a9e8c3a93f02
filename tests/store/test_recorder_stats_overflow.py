"""``stats().queued`` counts the records waiting for the overflow thread too.

Why: with the in-memory queue full, records go to the overflow thread on their way to the spool
(``overflow.py``); while the disk is slow they wait there, in memory, up to ``queue_max`` of them.
``stats()`` counted only the in-memory queue, so a recorder with 40 records queued and 10 more held
by the overflow said 40 queued and 0 spooled: 10 records submitted and accounted for nowhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.spool import Spool


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_records_held_by_the_overflow_thread_are_counted_as_queued(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_free = threading.Event()
    appending = threading.Event()
    real_append = Spool.append

    def slow_append(self: Spool, *args: Any, **kwargs: Any) -> Any:
        appending.set()
        assert disk_free.wait(10), "the test never let the spool write"
        return real_append(self, *args, **kwargs)

    monkeypatch.setattr(Spool, "append", slow_append)
    config = RecorderConfig(queue_max_bytes=4000, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    images = [n.to_bytes(2, "big") * 50 for n in range(50)]  # 40 fit in the queue, 10 overflow
    for n, image in enumerate(images):
        recorder.submit(make_record(request_id=f"burst-{n}"), image)
    try:
        assert appending.wait(10), "the overflow thread never reached the spool"
        stats = recorder.stats()
        assert (stats.submitted, stats.queued, stats.spooled) == (50, 50, 0)
    finally:
        disk_free.set()
    assert _wait(lambda: recorder.spool.pending == 10)
    stats = recorder.stats()
    assert (stats.queued, stats.spooled) == (40, 10)

    recorder.start()
    assert recorder.flush(10), recorder.stats()
    recorder.close()
    assert recorder.stats().queued == 0
