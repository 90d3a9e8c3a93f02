"""The request log's overflow (in-memory queue full) must not touch the disk on the event loop: a burst
of cache hits (~700 req/s of identical 600 KB uploads) spooled every overflowing record there, with a
walk of the spool's image folder per record, and p99 grew to 73-82 ms. Nothing may be lost on the way."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from capsight.store.spool import Spool


@pytest.fixture
def disk_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """(call, thread id) of every folder walk, fsync and spool append, whichever thread makes it."""
    calls: list[tuple[str, int]] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append((name, threading.get_ident()))
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(os, "scandir", spy("scandir", os.scandir))
    monkeypatch.setattr(os, "fsync", spy("fsync", os.fsync))
    monkeypatch.setattr(Spool, "append", spy("append", Spool.append))
    yield calls


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_overflow_from_the_event_loop_does_no_disk_io_on_it(
    database: Database, tmp_path: Path, disk_calls: list[tuple[str, int]]
) -> None:
    config = RecorderConfig(queue_max_bytes=4000, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    images = [n.to_bytes(2, "big") * 50 for n in range(50)]  # 40 fit in the queue, 10 overflow

    async def burst() -> int:
        for n, image in enumerate(images):
            recorder.submit(make_record(request_id=f"burst-{n}"), image)
        return threading.get_ident()

    disk_calls.clear()
    loop_thread = asyncio.run(burst())
    assert _wait(lambda: recorder.spool.pending == 10), "the overflow never reached the spool"
    assert _wait(lambda: recorder.stats().queued == 40)  # the overflow's 10 counted until spooled
    assert [name for name, thread in disk_calls if thread == loop_thread] == []
    assert any(name == "append" for name, _ in disk_calls), "the spool was written (off the event loop)"
    spooled = {hashlib.sha256(image).hexdigest() for image in images[40:]}
    assert set(recorder.spool.blobs.iter_keys()) == spooled

    recorder.start()
    assert recorder.flush(10)
    recorder.close()
    assert RequestLog(database, None).count() == 50


def test_close_with_a_full_queue_and_an_overflow_backlog_loses_no_record(
    database: Database, tmp_path: Path
) -> None:
    config = RecorderConfig(queue_max_bytes=1000, batch_size=20, retry_initial_s=0.05)
    recorder = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    recorder.start()
    ids = [f"shutdown-{i}" for i in range(300)]

    async def burst() -> None:
        for n, request_id in enumerate(ids):
            recorder.submit(make_record(request_id=request_id), os.urandom(300) + bytes([n % 256]))

    asyncio.run(burst())
    recorder.close()  # at once: the queue is full and the overflow still on its way to the spool
    recorder.submit(make_record(request_id="after-close"), b"late")  # a request finishing meanwhile
    restarted = DatabaseRecorder(database, LocalBlobStore(tmp_path / "images"), tmp_path / "spool", config)
    restarted.start()
    assert restarted.flush(20)
    restarted.close()
    with database.session() as session:
        from sqlalchemy import select

        from capsight.store.models import ClassificationRow

        logged = set(session.scalars(select(ClassificationRow.request_id)))
    assert logged == {*ids, "after-close"}
