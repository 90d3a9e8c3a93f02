"""Settings and counters of the request recorder (``recorder.py``), kept apart so that module stays small."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class RecorderStats:
    submitted: int
    written: int  # records written to the database (including replays)
    spooled: int  # records waiting in the local spool
    rejected: int  # records the database refused as invalid (kept in spool/rejected.jsonl)
    queued: int  # records in memory, waiting for the writer thread or (overflow) for the spool
    degraded: bool  # True while the database or image store is unreachable
