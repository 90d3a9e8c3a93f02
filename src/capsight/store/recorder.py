"""The request recorder: ``submit`` from the request path, batched writes from one background thread.

``submit`` only hashes the image if needed and puts the record on an in-memory queue (when that is
full, on the overflow's way to the spool, ``overflow.py``), so a slow or dead database or disk can
never slow down or fail a classification. The writer thread takes whatever is
queued (up to ``batch_size``), stores the images, and inserts the rows in one transaction. When the
database or the image store is unreachable, batches go to the local :class:`Spool` instead and the
thread retries with exponential backoff; on success it replays the spool (idempotently) before
writing new records again, so the log ends up complete and nothing is written twice.

How one batch reaches the backends (and what counts as an outage) is ``batchwriter.py``; this
module decides when to write, spool, retry and replay. The migrations also run on this thread (the
first import of SQLAlchemy and Alembic happens here too), which keeps service start-up independent
of the database.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue
import threading
import time
from pathlib import Path

from capsight.store.batchwriter import BatchWriter, Outage, replay_spool
from capsight.store.blobs import BlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.overflow import OverflowSpooler
from capsight.store.protocols import ClassificationRecord
from capsight.store.purge import RetentionPurge
from capsight.store.recorder_config import RecorderConfig, RecorderCounts, RecorderStats, UnspooledReport
from capsight.store.sharedimages import SharedImages
from capsight.store.spool import Item, Spool

logger = logging.getLogger(__name__)


class DatabaseRecorder:
    """The production :class:`~capsight.store.protocols.RequestRecorder`."""

    def __init__(
        self, db: Database, blobs: BlobStore | None, spool_dir: Path, config: RecorderConfig | None = None
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.config = config or RecorderConfig()
        self.spool = Spool(spool_dir, max_image_bytes=self.config.spool_max_image_bytes)
        self.writer = BatchWriter(db, blobs, self.spool.directory)
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=self.config.queue_max)
        self._queued = SharedImages()  # the images of the queued records, one copy of each
        self._counts = RecorderCounts(spooled=self.spool.pending)
        self._counts_lock = self._counts.lock
        self._progress = threading.Condition()
        self._processed = 0
        self._degraded = True  # until the first successful migration + spool replay
        self._outage_logged = False
        self._unspooled = UnspooledReport(logger)
        self._error: str | None = None  # why degraded, once a try failed (stats, /health/ready)
        self._backoff = self.config.retry_initial_s
        self._next_retry = 0.0
        self._retention: RetentionPurge | None = None
        if self.config.retention_days > 0:
            cfg = self.config
            self._retention = RetentionPurge(
                db, blobs, cfg.retention_days, interval_s=cfg.purge_interval_s, step_s=cfg.purge_step_s
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight: list[Item] = []  # the batch the writer thread is writing now
        self._overflow = OverflowSpooler(
            self._spool_overflow,
            max_bytes=self.config.queue_max_bytes // 4,
            max_records=self.config.queue_max,
        )

    # ----------------------------------------------------------------- request path
    def start(self) -> DatabaseRecorder:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="capsight-recorder", daemon=True)
            self._thread.start()
        return self

    def submit(self, record: ClassificationRecord, image: bytes | None) -> None:
        """Queue one record (and its image) for writing. Never blocks on I/O, never raises."""
        try:
            if image is not None and record.image_sha256 is None:
                record = dataclasses.replace(record, image_sha256=sha256_hex(image))
            if not self.config.store_images:
                image = None  # the hash is still logged: it tells repeated uploads apart
            with self._counts_lock:
                self._counts.submit()
                held = image  # the same upload again (cache hits) shares the copy queued, free
                if image is not None and record.image_sha256 is not None and not self._stop.is_set():
                    held = self._queued.hold(record.image_sha256, image, self.config.queue_max_bytes)
                overflow = self._stop.is_set() or (held is None and image is not None)
                if not overflow:
                    try:
                        self._queue.put_nowait((record, held))
                    except queue.Full:
                        self._queued.release(record.image_sha256, held)
                        overflow = True
            # Memory budget exceeded (or closed): the spool is the queue now, reached off this thread
            # (the event loop). Refused only once closed or when the disk is far behind.
            if overflow and not self._overflow.offer((record, image)):
                self._spool_overflow([(record, image)])
        except Exception:
            logger.exception("request log: could not record request %s", record.request_id)

    def close(self, timeout: float = 10.0) -> None:
        """Write (or spool) everything queued, then stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("request log writer did not stop within %.1fs", timeout)
                # Its batch goes to the spool too: the thread dies with the process, and a batch held
                # up by a SQLite file another worker kept locked (its wait is 15 s) was lost though
                # every request in it had been answered. Inserts are idempotent: should the thread get
                # it in after all, the replay adds nothing.
                batch = self._in_flight
                if self._claim(batch):
                    self._spool_items(batch, "writing")
        self._thread = None
        # Anything still queued (thread never started or timed out) goes to the spool, and so does
        # the overflow once its thread has spooled what it had (the rest, if it hangs, from here).
        self._spool_items(self._take(0, limit=None), "writing")
        self._spool_overflow(self._overflow.close(timeout))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is in the database (spool replayed); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while not self._idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(min(remaining, 0.05))
        return True

    def _idle(self) -> bool:
        return self._processed >= self._counts.submitted and not self._degraded and self.spool.pending == 0

    def stats(self) -> RecorderStats:
        """Each record in exactly one count (``RecorderCounts``). ``queued`` counts the overflow's
        backlog too: records the full queue turned away wait there, in memory, for the spool (up to
        ``queue_max`` of them while the disk is slow); ``writing`` the writer thread's batch."""
        return self._counts.stats(degraded=self._degraded, error=self._error if self._degraded else None)

    # ----------------------------------------------------------------- writer thread
    def _run(self) -> None:
        while True:
            try:
                if self._step():
                    return
            except Exception:  # a bug here must not silently end the log: report, back off, go on
                logger.exception("request log writer: unexpected error")
                self._schedule_retry()

    def _step(self) -> bool:
        """One round: maybe recover, write (or spool) one batch, maybe purge. True = stop now."""
        if self._degraded and time.monotonic() >= self._next_retry:
            self._recover()
        elif not self._degraded and self.spool.pending:
            # Spooled by submit while healthy (the in-memory queue was full): replayed now, or it
            # waited in the spool for the next outage or restart, and flush() never returned True.
            self._recover()
        wait = 0.2 if not self._degraded else min(0.2, max(0.0, self._next_retry - time.monotonic()))
        if self._retention is not None and not self._degraded and self._retention.due():
            wait = 0.0  # a purge under way goes on at once when no record waits
        items = self._take(wait, limit=self.config.batch_size, linger=self.config.linger_s)
        if items:
            self._in_flight = items
            try:
                self._handle(items)
            except Exception:
                if self._claim(items):
                    self._spool_items(items, "writing")
                raise
            finally:
                self._claim(items)
                self._done(len(items))
        if self._retention is not None and not self._degraded and self._retention.due():
            self._retention.step()  # a step: the next batch goes first, then the next step
        return self._stop.is_set() and self._queue.empty()

    def _take(self, wait: float, limit: int | None, linger: float = 0.0) -> list[Item]:
        """Up to ``limit`` queued items: waits ``wait`` for the first, then ``linger`` for company."""
        items: list[Item] = []
        try:
            items.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
            deadline = time.monotonic() + linger
            while limit is None or len(items) < limit:
                remaining = deadline - time.monotonic()
                if remaining > 0 and not self._stop.is_set():
                    items.append(self._queue.get(timeout=remaining))
                else:
                    items.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if items:
            with self._counts_lock:
                for record, image in items:
                    self._queued.release(record.image_sha256, image)
                self._counts.move("queued", writing=len(items))
        return items

    def _claim(self, items: list[Item]) -> bool:
        """Take the batch in flight to count where it went; False if ``close`` (its writer stuck)
        spooled it already, or it went: a batch is counted once, by whichever got there first."""
        with self._counts_lock:
            if not items or self._in_flight is not items:
                return False
            self._in_flight = []
            return True

    def _handle(self, items: list[Item]) -> None:
        if not self._degraded:
            try:
                written = self.writer.write(items)
            except Outage as outage:
                self._enter_outage(outage)
            else:
                if any(image is not None for _, image in items):  # images stored: the store works
                    self._backoff = self.config.retry_initial_s
                if self._claim(items):
                    self._counts.move("writing", written=written, rejected=len(items) - written)
                return
        if self._claim(items):
            self._spool_items(items, "writing")

    def _recover(self) -> None:
        """Migrate if needed, then replay the spool; leaves degraded mode only when all of it is in."""
        was_degraded = self._degraded
        try:
            replayed = replay_spool(self.spool, self.writer, self._counts, self.config.batch_size)
            if replayed == 0:  # nothing was spooled: still prove the backends usable, images included
                self.writer.probe(images=self.config.store_images)
        except Outage as outage:
            self._enter_outage(outage)
            return
        except OSError as exc:
            logger.exception("request log: cannot read the spool in %s", self.spool.directory)
            self._error = f"cannot read the spool in {self.spool.directory}: {exc}"
            self._schedule_retry()
            return
        if self._outage_logged or (replayed and was_degraded):
            logger.warning("request log: backends reachable again; replayed %d spooled records", replayed)
        elif replayed:
            logger.info("request log: wrote %d records spooled while the queue was full", replayed)
        if not self.config.store_images or self.blobs is None:
            # Else kept until a batch stores images (the probe passes on a full disk: it flapped).
            self._backoff = self.config.retry_initial_s
        self._degraded = False
        self._error = None
        self._outage_logged = False
        self._done(0)  # wakes flush(): nothing more processed, but the log is healthy again

    def _enter_outage(self, outage: Outage) -> None:
        if not self._outage_logged:
            logger.warning("request log: %s; spooling to %s", outage, self.spool.directory)
            self._outage_logged = True
        self._error = str(outage)
        self._degraded = True
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        self._degraded = True
        self._next_retry = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.config.retry_max_s)

    def _spool_items(self, items: list[Item], source: str) -> None:
        """Spool ``items``, counted so far under ``source`` (queued or writing)."""
        if not items:
            return
        try:
            self.spool.append(items, then=functools.partial(self._counts.move, source, spooled=len(items)))
        except Exception as exc:
            # The spool shares a full or read-only disk with the image store, say. The rows are
            # what matters: try to write them without their images before giving them up.
            try:
                self.writer.write_rows_only(items)
            except Exception:
                self._counts.move(source, lost=len(items))
                self._unspooled.add(exc, lost=len(items))
            else:
                self._counts.move(source, written=len(items))
                self._unspooled.add(exc, rows_only=len(items))

    def _spool_overflow(self, items: list[Item]) -> None:
        try:
            self._spool_items(items, "queued")
        finally:  # flush() waits for every record submitted
            self._done(len(items))

    def _done(self, count: int) -> None:
        with self._progress:
            self._processed += count
            self._progress.notify_all()
