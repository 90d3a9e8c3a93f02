"""The retention purge: old requests, their classifications and feedback, and the images no row
still needs. Apart from reading the log (``requestlog.py``) for size, and for the recorder's steps.

The recorder runs it on its writer thread, so it runs in steps of ``step_s`` between the log's
batches (:class:`RetentionPurge`): in one go, an hourly purge of an hour of busy traffic (360,000
rows at 100 requests a second; SQLite purges ~10,000 a second) or the first one after retention
was turned on (the whole old log) wrote no record for as long, and the queue spilled to the spool.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from capsight.api.logtext import loggable
from capsight.errors import BadRequest, ServiceUnavailable, first_line
from capsight.jobs.purge import purge_finished_jobs
from capsight.store.blobs import BlobStore
from capsight.store.database import Database, lift_timeouts
from capsight.store.purge_marks import record_purge
from capsight.store.sqlalchemy_import import load_sqlalchemy
from capsight.wording import counted
from capsight.wording import days as days_text

# Its lines keep the logger they always had (operators' filters, and the log-hygiene tests).
logger = logging.getLogger("capsight.store.requestlog")
# An image store's error is logged escaped (an S3 server's own words, a path: one log line each) and
# whole up to this length: botocore's text names the endpoint and the object, an operator needs both.
LOGGED_ERROR_CHARS = 1000


@dataclass(frozen=True)
class PurgeResult:
    requests: int
    classifications: int
    images: int
    feedback: int = 0
    jobs: int = 0  # ended jobs, with their published results (their folders: each replica's sweep)
    complete: bool = True  # False: stopped at its time budget with more due (the next step goes on)

    def __add__(self, other: PurgeResult) -> PurgeResult:
        return PurgeResult(
            self.requests + other.requests,
            self.classifications + other.classifications,
            self.images + other.images,
            self.feedback + other.feedback,
            self.jobs + other.jobs,
            other.complete,
        )

    def rows_text(self) -> str:
        """What went of the log, in words: "1 request, 1 classification, 1 image, 0 feedback"."""
        return ", ".join(
            (
                counted(self.requests, "request"),
                counted(self.classifications, "classification"),
                counted(self.images, "image"),
                counted(self.feedback, "feedback", "feedback"),
            )
        )

    def __str__(self) -> str:
        # Logged: the dataclass's repr (PurgeResult(requests=1, ..., complete=True)) read as a dump.
        return f"{self.rows_text()}, {counted(self.jobs, 'ended job')}"


def purge_older_than(
    db: Database, blobs: BlobStore | None, days: float, *, chunk: int = 500, budget_s: float | None = None
) -> PurgeResult:
    """Delete requests, classifications and (no longer referenced) images older than ``days``, and
    the jobs that ended before then (``jobs/purge.py``); with ``budget_s``, stop after the chunk that
    ran past it (``complete`` False if more is due)."""
    if days <= 0:
        raise BadRequest("days must be > 0")
    try:
        cutoff = datetime.now(UTC) - timedelta(days=days)
    except OverflowError:  # further back than year 1: nothing is that old ("keep for ever")
        return PurgeResult(0, 0, 0)
    until = None if budget_s is None else time.monotonic() + budget_s
    total = PurgeResult(0, 0, 0)
    while True:
        step = _purge_chunk(db, blobs, cutoff, chunk)
        total += step
        if step.requests < chunk:
            break
        if until is not None and time.monotonic() >= until:
            return replace(total, complete=False)
    jobs, all_due = purge_finished_jobs(db, cutoff, until=until)
    total = replace(total, jobs=total.jobs + jobs)
    if not all_due:
        return replace(total, complete=False)
    total = replace(total, feedback=_purge_feedback(db, cutoff))
    record_purge(db, cutoff)  # feedback on an answer it took is refused (410), not kept for nothing
    # Not logged here: RetentionPurge logs its whole purge, and `capsight db purge` prints the result
    # (logged too, it said the same twice, once on stderr).
    return total


class RetentionPurge:
    """The recorder's retention: a step when due, the next one at once while more is due, then
    again after ``interval_s``. Its totals are logged when a whole purge is done."""

    def __init__(
        self, db: Database, blobs: BlobStore | None, days: float, *, interval_s: float, step_s: float
    ) -> None:
        self.db, self.blobs, self.days, self.interval_s, self.step_s = db, blobs, days, interval_s, step_s
        self._next = 0.0
        self._done = PurgeResult(0, 0, 0)  # by the steps of the purge under way

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def step(self) -> None:
        self._next = time.monotonic() + self.interval_s  # after a failure too: retried in an hour
        try:
            result = purge_older_than(self.db, self.blobs, self.days, budget_s=self.step_s)
        except Exception:
            logger.exception("request log: retention purge failed")
            return
        self._done += result
        if not result.complete:
            self._next = 0.0
            return
        logger.info("retention purge (older than %s): %s", days_text(self.days), self._done)
        self._done = PurgeResult(0, 0, 0)


def _purge_feedback(db: Database, cutoff: datetime) -> int:
    """Feedback goes with the answers it is about: kept longer it names requests that are gone,
    and its notes are client text that retention promises to drop."""
    load_sqlalchemy()
    from sqlalchemy import delete

    from capsight.store.models import FeedbackRow

    with db.session() as session, session.begin():
        lift_timeouts(session, lock=False)  # all the old feedback at once: as long as it takes
        return _rowcount(session.execute(delete(FeedbackRow).where(FeedbackRow.created_at < cutoff)))


def _purge_chunk(db: Database, blobs: BlobStore | None, cutoff: datetime, chunk: int) -> PurgeResult:
    """One transaction: up to ``chunk`` old requests with their classifications, and the images
    that no remaining row references (the same photo may have been sent again recently).

    The images are deleted before the commit, under the image lock: an image store that fails
    rolls the rows back for the next purge (deleted first, its images were never found again),
    and no writer can log a new row for an image between the reference check and its deletion.
    """
    load_sqlalchemy()
    from sqlalchemy import delete, select

    from capsight.store.models import ClassificationRow, RequestRow

    c = ClassificationRow
    locked = db.image_lock(exclusive=True) if blobs is not None else contextlib.nullcontext()
    with locked, db.session() as session, session.begin():
        # A large log's deletes run as long as they take; a table lock held by others is given up on
        # (PG_LOCK_TIMEOUT_S), retried at the next purge.
        lift_timeouts(session, lock=False)
        ids = list(
            session.scalars(select(RequestRow.request_id).where(RequestRow.created_at < cutoff).limit(chunk))
        )
        if not ids:
            return PurgeResult(0, 0, 0)
        stored = select(c.image_sha256).where(c.request_id.in_(ids), c.image_ref.is_not(None))
        shas = {sha for sha in session.scalars(stored.distinct()) if sha}
        n_classifications = _rowcount(session.execute(delete(c).where(c.request_id.in_(ids))))
        n_requests = _rowcount(session.execute(delete(RequestRow).where(RequestRow.request_id.in_(ids))))
        # Only rows that stored the image keep it: a row logged with storage off (or spooled past
        # the spool's image budget) names its hash without an image_ref, and counting it kept
        # the photo past every retention, since no purge of that row ever looks at it again.
        used = select(c.image_sha256).where(c.image_sha256.in_(shas), c.image_ref.is_not(None)).distinct()
        orphans = shas - (set(session.scalars(used)) if shas else set())
        if blobs is not None:
            _delete_images(blobs, orphans)
    return PurgeResult(n_requests, n_classifications, len(orphans) if blobs is not None else 0)


def _delete_images(blobs: BlobStore, shas: set[str]) -> None:
    try:
        blobs.delete_many(sorted(shas))
    except Exception as exc:  # boto3/OS errors vary by backend: the caller's transaction rolls back
        logger.warning("retention purge: image store failed: %s", loggable(str(exc), LOGGED_ERROR_CHARS))
        raise ServiceUnavailable(
            f"Image store unavailable ({first_line(exc)}); "
            "the rows of its images are kept for the next purge."
        ) from exc


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
