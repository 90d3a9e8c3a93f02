"""Carries the request log's overflow (records the full in-memory queue turned away) to the spool on a
thread of its own.

Why: ``submit`` runs on the event loop, and spooling there (a file append, fsyncs, an image write)
stalled every request in flight: a burst of cache hits (~700 req/s of identical 600 KB uploads on 2
cores) overflowed the queue and p99 grew to 73-82 ms. The hand-off only appends to a list in memory.

Its memory is bounded too, or a burst would just move the images from the queue to here: each
distinct image is held once (a burst of the same upload costs one copy), and past ``max_bytes`` (or
the one image held, if larger) a record is handed over without its image (its sha256 is kept), as the
spool does past its disk budget.
Only past ``max_records`` records waiting (the disk cannot keep up even with the rows) does ``offer``
refuse, and the caller spools the record itself: slowing the callers down beats growing without bound.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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
        self.images_dropped = 0

    @property
    def pending(self) -> int:
        """Records handed over and not yet in the spool."""
        return len(self._items) + self._busy

    def offer(self, item: Item) -> bool:
        """Hand one record over; False when closed or too far behind (the caller spools it itself)."""
        record, image = item
        with self._cond:
            if self._closed or len(self._items) + self._busy >= self.max_records:
                return False
            if image is not None and record.image_sha256 is not None:
                image = self._images.hold(record.image_sha256, image, self.max_bytes, one_always_fits=True)
                if image is None:
                    self._drop_image(record.request_id)
            self._items.append((record, image))
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
                batch, self._items = self._items, []
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
                    if not self._items:
                        self.images_dropped = 0  # the next backlog logs its first drop again

    def _drop_image(self, request_id: str) -> None:
        if self.images_dropped == 0:
            logger.warning(
                "request log overflow: %d bytes of images wait for the spool (the limit); records are "
                "still kept, their images are not (first: request %s)",
                self._images.bytes,
                request_id,
            )
        self.images_dropped += 1
