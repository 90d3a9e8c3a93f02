"""The images of one request-log batch are stored side by side, not one after another.

Why: each put waits on the disk (write, fsync of the file and its folder) or on an S3 round trip, and
in a busy server the recorder's single thread then queued for the GIL after every wait and fell
behind the API (142-145 req/s on the 2-core bench): its queue filled, the images waiting in memory
took the server from ~200 to ~410 MB, and the overflow was spooled on the event loop. With the puts
of a batch overlapped: 163-170 req/s, RSS peak 231-248 MB, nothing spooled during the load.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.logwriter import store_images


def _items(count: int) -> list[tuple[object, bytes]]:
    items = []
    for i in range(count):
        image = f"photo {i}".encode() * 1000
        items.append((make_record(image_sha256=hashlib.sha256(image).hexdigest()), image))
    return items


class _MeetingStore(LocalBlobStore):
    """A real folder store whose puts wait until ``expected`` of them are under way at once."""

    def __init__(self, root: Path, expected: int) -> None:
        super().__init__(root)
        self.barrier = threading.Barrier(expected, timeout=10)

    def put(self, sha256: str, data: bytes) -> str:
        self.barrier.wait()  # raises BrokenBarrierError after 10 s if the puts run one at a time
        return super().put(sha256, data)


def test_the_puts_of_a_batch_are_under_way_together(tmp_path: Path) -> None:
    items = _items(4)
    store = _MeetingStore(tmp_path / "images", expected=4)
    refs = store_images(store, items)  # type: ignore[arg-type]
    assert len(refs) == 4
    for record, image in items:
        assert (tmp_path / "images" / refs[record.image_sha256]).read_bytes() == image  # type: ignore[attr-defined]


class _OneFails(LocalBlobStore):
    def __init__(self, root: Path, failing: str) -> None:
        super().__init__(root)
        self.failing = failing
        self.running = 0
        self.lock = threading.Lock()

    def put(self, sha256: str, data: bytes) -> str:
        with self.lock:
            self.running += 1
        try:
            if sha256 == self.failing:
                raise OSError("disk full")
            time.sleep(0.2)
            return super().put(sha256, data)
        finally:
            with self.lock:
                self.running -= 1


def test_a_failed_put_is_raised_once_every_put_has_ended(tmp_path: Path) -> None:
    """The caller treats the error as an outage and spools the batch: no put may still be writing."""
    items = _items(5)
    store = _OneFails(tmp_path / "images", failing=items[0][0].image_sha256)  # type: ignore[attr-defined]
    with pytest.raises(OSError, match="disk full"):
        store_images(store, items)  # type: ignore[arg-type]
    assert store.running == 0


def test_an_image_twice_in_a_batch_is_put_once(tmp_path: Path) -> None:
    items = _items(2)
    twice = [*items, items[0]]
    calls: list[str] = []

    class Counting(LocalBlobStore):
        def put(self, sha256: str, data: bytes) -> str:
            calls.append(sha256)
            return super().put(sha256, data)

    refs = store_images(Counting(tmp_path / "images"), twice)  # type: ignore[arg-type]
    assert sorted(calls) == sorted(refs) and len(calls) == 2
