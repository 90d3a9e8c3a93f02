"""Settings and counters of the request recorder (``recorder.py``), kept apart so that module stays small."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from capsight.log_gate import LogGate


@dataclass(frozen=True)
class RecorderConfig:
    batch_size: int = 200
    # After the first record of a batch arrives, gather more for up to this long: under load one
    # transaction then carries dozens of rows instead of a handful (its fixed cost is most of the
    # cost of a small batch). Log rows are not read back in real time, so 100 ms of delay is free.
    linger_s: float = 0.1
    queue_max: int = 10_000  # records waiting in memory before submit hands them to the spool
    # Image bytes waiting in memory, same. Small beside the in-flight body budget, so a burst of
    # uploads cannot grow the server past its container limit; the spool (disk) takes the rest,
    # through a thread of its own (overflow.py) that holds at most a quarter of this in images.
    queue_max_bytes: int = 64 * 1024 * 1024
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    store_images: bool = True
    retention_days: float = 0  # > 0: purge older rows and images on start and every purge_interval_s
    spool_max_image_bytes: int | None = None  # disk for images spooled in an outage (None: no cap)
    purge_interval_s: float = 3600.0
    purge_step_s: float = 0.5  # the writer thread purges this long at most between two batches


@dataclass(frozen=True)
class RecorderStats:
    """Each record submitted (and each one found in the spool at start) is in exactly one of queued,
    writing, spooled, written, rejected and lost, at any moment: they add up to ``submitted`` plus
    the spool's records of earlier runs."""

    submitted: int
    written: int  # records written to the database (spooled ones once replayed)
    spooled: int  # records waiting in the local spool
    rejected: int  # records the database refused as invalid (kept in spool/rejected.jsonl)
    queued: int  # records in memory, waiting for the writer thread or (overflow) for the spool
    degraded: bool  # True while the database or image store is unreachable
    writing: int = 0  # the batch the writer thread is writing (or spooling) now
    lost: int = 0  # records neither written nor spooled (disk and database both failed; corrupt spool lines)
    error: str | None = None  # why it is degraded (None while healthy, and before the first try)


class RecorderCounts:
    """Where the records are, moved from one count to the next under one lock.

    Why a ledger: each count used to be read from where the records were (the queue's size, the
    spool's, the writer's running totals), each changed at its own moment, so a reader saw a
    batch in none of them (taken off the queue, not yet written) or in two (spooled, still held
    by the overflow thread; replayed chunk by chunk, still in the spool file). ``lock`` is
    reentrant: ``submit`` holds it around the queue hand-off, the spool around its own changes.
    """

    NAMES = ("queued", "writing", "spooled", "written", "rejected", "lost")

    def __init__(self, spooled: int) -> None:
        self.lock = threading.RLock()
        self.submitted = 0
        self._counts = dict.fromkeys(self.NAMES, 0)
        self._counts["spooled"] = spooled

    def submit(self) -> None:
        """One more record, queued (the queue or the overflow's backlog: both in memory)."""
        with self.lock:
            self.submitted += 1
            self._counts["queued"] += 1

    def move(self, source: str, **to: int) -> None:
        """``to``'s records leave ``source`` for the counts named."""
        with self.lock:
            self._counts[source] -= sum(to.values())
            for name, count in to.items():
                self._counts[name] += count

    def replayed(self, records: int, written: int, lost: int, emptied: bool) -> None:
        """A spool file replayed: ``records`` read (``written`` of them went in, the others were
        rejected), ``lost`` corrupt lines skipped; ``emptied``: the spool holds nothing more.

        The workers of a replica share its spool and replay each other's records: what another
        one spooled is added here too (not below zero spooled), and what this one still counts
        spooled once the spool is empty, another one wrote."""
        with self.lock:
            counts = self._counts
            counts["written"] += written
            counts["rejected"] += records - written
            counts["lost"] += lost
            counts["spooled"] = max(0, counts["spooled"] - records - lost)
            if emptied:
                counts["written"] += counts["spooled"]
                counts["spooled"] = 0

    def stats(self, *, degraded: bool, error: str | None = None) -> RecorderStats:
        with self.lock:
            return RecorderStats(submitted=self.submitted, degraded=degraded, error=error, **self._counts)


class UnspooledReport:
    """Reports records the spool could not take (their rows written without the images, or lost):
    the first at once, the next at most once a minute, counted.

    Why: a full data disk fails the image store and the spool alike, for every batch, and a line
    per batch (with a traceback when the rows were lost too) flooded the log: 40 in 6 s at 17
    requests a second."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self._gate = LogGate(every_s)
        self._lock = threading.Lock()
        self._rows_only = self._lost = 0

    def add(self, error: BaseException, *, rows_only: int = 0, lost: int = 0) -> None:
        with self._lock:  # the sums held back go with the next line, whatever its error
            self._rows_only += rows_only
            self._lost += lost
            if self._gate.admit() is None:
                return
            rows_only, self._rows_only, lost, self._lost = self._rows_only, 0, self._lost, 0
        later = "; next report in a minute at the soonest"
        if lost == 0:
            self.logger.error(
                "request log: could not spool %d records (%s); wrote their rows without the images%s",
                rows_only,
                error,
                later,
            )
        elif rows_only == 0:
            self.logger.error(
                "request log: could not spool %d records (%s); they are lost%s",
                lost,
                error,
                later,
                exc_info=error,
            )
        else:
            self.logger.error(
                "request log: could not spool %d records (%s); wrote the rows of %d without the images, "
                "%d are lost%s",
                rows_only + lost,
                error,
                rows_only,
                lost,
                later,
                exc_info=error,
            )
