"""The retention purge of a server that keeps no request log (CAPSIGHT_REQUEST_LOG=false).

Why: the purge ran only on the request log's writer thread (``recorder.py``), which such a server
does not start, so CAPSIGHT_RETENTION_DAYS was silently not applied: every answer, photo and
feedback logged before the log was turned off (for privacy, say) was kept for ever. This runs the
same :class:`~capsight.store.purge.RetentionPurge`, on start and hourly, on a thread of its own.
"""

from __future__ import annotations

import threading

from capsight.store.blobs import BlobStore
from capsight.store.database import Database
from capsight.store.purge import RetentionPurge
from capsight.store.recorder_config import RecorderConfig

POLL_S = 5.0  # how often the thread asks whether a purge is due (a cheap clock read)
CLOSE_TIMEOUT_S = 2.0  # a step is bounded (RecorderConfig.purge_step_s) but may run over by a chunk


class RetentionThread:
    def __init__(self, db: Database, blobs: BlobStore | None, days: float) -> None:
        config = RecorderConfig()
        self._purge = RetentionPurge(
            db, blobs, days, interval_s=config.purge_interval_s, step_s=config.purge_step_s
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="capsight-retention", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._purge.due():
                self._purge.step()  # logs its own failures; retried after the interval
            else:
                self._stop.wait(POLL_S)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
