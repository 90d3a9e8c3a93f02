"""The overflow hand-off between the request path and the spool: bounded memory, nothing dropped."""

from __future__ import annotations

import hashlib
import threading
import time

from store_records import make_record

from capsight.store.overflow import BATCH_RECORDS, OverflowSpooler, _batch_size
from capsight.store.spool import Item


class _Sink:
    """A spool that waits until released (a slow disk), then keeps what it got."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.got: list[Item] = []

    def __call__(self, items: list[Item]) -> None:
        self.started.set()
        assert self.release.wait(10)
        self.got.extend(items)


def _item(image: bytes, request_id: str) -> Item:
    return make_record(request_id=request_id, image_sha256=hashlib.sha256(image).hexdigest()), image


def test_the_same_upload_is_held_once_and_past_the_budget_the_caller_spools_itself() -> None:
    sink = _Sink()
    spooler = OverflowSpooler(sink, max_bytes=250, max_records=1000)
    assert spooler.offer(_item(b"first", "first"))
    assert sink.started.wait(10)  # the thread is busy with it; what follows waits in memory
    same = [bytes(b"s" * 100) for _ in range(20)]  # 20 copies of one upload (cache hits)
    for n, image in enumerate(same):
        assert spooler.offer(_item(image, f"same-{n}"))
    assert spooler.offer(_item(b"d" * 100, "distinct"))  # 205 bytes held
    assert spooler.offer((make_record(request_id="no-image"), None))  # a record alone always fits
    assert not spooler.offer(_item(b"e" * 100, "too-much"))  # 305 > 250: the disk is far behind
    sink.release.set()
    assert spooler.close(10) == []
    got = {record.request_id: image for record, image in sink.got}
    assert len(got) == 23 and got["first"] == b"first" and got["distinct"] == b"d" * 100
    assert all(got[f"same-{n}"] is got["same-0"] for n in range(20)), "one copy held, not twenty"
    assert got["no-image"] is None and "too-much" not in got


def test_images_spooled_free_their_share_of_the_budget() -> None:
    sink = _Sink()
    sink.release.set()
    spooler = OverflowSpooler(sink, max_bytes=150, max_records=1000)
    for n in range(30):  # 30 distinct 100-byte images, one at a time: never more than one held
        assert spooler.offer(_item(bytes([n]) * 100, f"r{n}"))
        deadline = time.monotonic() + 10
        while spooler.pending and time.monotonic() < deadline:
            time.sleep(0.001)
    spooler.close(10)
    assert [image is not None for _, image in sink.got] == [True] * 30


def test_too_far_behind_or_closed_the_caller_spools_itself() -> None:
    sink = _Sink()
    spooler = OverflowSpooler(sink, max_bytes=10_000, max_records=3)
    assert spooler.offer(_item(b"a", "a"))
    assert sink.started.wait(10)
    assert spooler.offer(_item(b"b", "b")) and spooler.offer(_item(b"c", "c"))
    assert not spooler.offer(_item(b"d", "d"))  # 3 records not yet spooled: the disk is behind
    sink.release.set()
    assert spooler.close(10) == []
    assert [r.request_id for r, _ in sink.got] == ["a", "b", "c"]  # in the order handed over
    assert not spooler.offer(_item(b"e", "e"))  # closed


def test_close_returns_what_a_hung_spool_never_took() -> None:
    sink = _Sink()
    spooler = OverflowSpooler(sink, max_bytes=10_000, max_records=100)
    assert spooler.offer(_item(b"a", "a"))
    assert sink.started.wait(10)
    assert spooler.offer(_item(b"b", "b"))
    left = spooler.close(0.1)  # the thread is stuck in the disk with "a"
    assert [r.request_id for r, _ in left] == ["b"]
    sink.release.set()


def test_appends_hold_the_spool_for_a_photo_or_many_rows_not_for_the_whole_backlog() -> None:
    """A caller refused while the thread appends waits for the spool's lock: one append of the whole
    backlog (27 photos) made it wait 63 ms."""
    photos = [_item(bytes([n]) * 600_000, f"p{n}") for n in range(5)]
    assert _batch_size(photos) == 1
    same = [_item(b"s" * 600_000, f"s{n}") for n in range(300)]  # one photo, many records
    rows = [(make_record(), None) for _ in range(300)]
    assert _batch_size(same) == _batch_size(rows) == BATCH_RECORDS
    assert _batch_size([*same[:3], *photos]) == 3  # the copies of one photo; the next, next time
