"""Carries the request log's overflow (records the full in-memory queue turned away) to the spool on a
thread of its own.

Why: ``submit`` runs on the event loop, and spooling there (a file append, fsyncs, an image write)
stalled every request in flight: a burst of cache hits (~700 req/s of identical 600 KB uploads on 2
cores) overflowed the queue and p99 grew to 73-82 ms. The hand-off only appends to a list in memory.

Its memory is bounded too, or a burst would just move the images from the queue to here: each
distinct image is held once (a burst of the same upload costs one copy), up to ``max_bytes`` (or the
one image held, if larger) and ``max_records`` records. Past either the disk has fallen far behind,
and ``offer`` refuses: the caller spools the record itself, as before. Slowing the callers down then
beats growing without bound, or dropping the images the README promises to keep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from capsight.log_gate import LogGate
from capsight.store.sharedimages import SharedImages
from capsight.store.spool import Item

logger = logging.getLogger(__name__)


class OverflowSpooler:
    """``offer`` from any thread; ``sink`` (spool a batch, then count it done) runs on this one's thread."""

    def __init__(self, sink: Callable[[list[Item]], None], *, max_bytes: int, max_records: int) -> None:
        self._sink = sink
        self.max_bytes = max_bytes
        self.max_records = max_records
        self._cond = threading.Condition()
        self._items: list[Item] = []
        self._images = SharedImages()
        self._busy = 0  # records taken by the thread and not yet spooled
        self._closed = False
        self._thread: threading.Thread | None = None
        self.refused = 0  # records the caller had to spool itself
        self._refusals_logged = LogGate()

    @property
    def pending(self) -> int:
        """Records handed over and not yet in the spool."""
        return len(self._items) + self._busy

    def offer(self, item: Item) -> bool:
        """Hand one record over; False when closed or too far behind (the caller spools it itself)."""
        record, image = item
        with self._cond:
            if self._closed:
                return False
            held = image
            if self.pending >= self.max_records:
                held = None
            elif image is not None and record.image_sha256 is not None:
                held = self._images.hold(record.image_sha256, image, self.max_bytes, one_always_fits=True)
            if held is None and (image is not None or self.pending >= self.max_records):
                self._refuse(record.request_id)
                return False
            self._items.append((record, held))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="capsight-overflow", daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def close(self, timeout: float) -> list[Item]:
        """Stop after spooling what was handed over; returns what the thread did not take in time."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("request log overflow did not reach the spool within %.1fs", timeout)
        with self._cond:
            left, self._items = self._items, []
            return left

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                size = _batch_size(self._items)
                batch, self._items = self._items[:size], self._items[size:]
                self._busy = len(batch)
            try:
                self._sink(batch)
            except Exception:  # the sink logs what it could not keep; this thread must go on
                logger.exception("request log overflow: could not spool %d records", len(batch))
            finally:
                with self._cond:
                    self._busy = 0
                    for record, image in batch:
                        self._images.release(record.image_sha256, image)

    def _refuse(self, request_id: str) -> None:
        """Logged at most once a minute: under a sustained overload the backlog empties and refills
        many times a minute, and a line each time would bury the log."""
        self.refused += 1
        if self._refusals_logged.admit() is not None:
            logger.warning(
                "request log overflow: the spool is %d records (%d bytes of images) behind; records go "
                "to it on the request path until it catches up (%d so far, last: request %s)",
                self.pending,
                self._images.bytes,
                self.refused,
                request_id,
            )


# One append holds the spool's lock while it writes and fsyncs each new image: a caller refused
# meanwhile (the disk far behind) waited for all of them, 63 ms behind 27 photos of 600 KB. Appends of
# a photo or so (or many rows, or many copies of one photo) keep that wait to a few milliseconds.
BATCH_IMAGE_BYTES = 1024 * 1024
BATCH_RECORDS = 200


def _batch_size(items: list[Item]) -> int:
    """How many of the records waiting the next append takes (at least one)."""
    seen: set[str] = set()
    size = 0
    for count, (record, image) in enumerate(items[:BATCH_RECORDS], 1):
        if image is not None and record.image_sha256 and record.image_sha256 not in seen:
            seen.add(record.image_sha256)
            size += len(image)
            if size > BATCH_IMAGE_BYTES and count > 1:
                return count - 1
    return min(len(items), BATCH_RECORDS)
