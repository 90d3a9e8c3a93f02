"""Finished jobs go with the retention (``CAPSIGHT_RETENTION_DAYS``), as the request log does.

Why: a finished job's results were kept for ever, twice: ``out/`` on the disk of the replica that ran
it, and the copy published to the shared database (``job_result_parts``, a few MB of gzip per big
job). On a busy deployment both the data disk and the database only grew.

Two halves, because the two copies live in different places:

- the rows (job, its items, its published results) are shared, so the request log's retention purge
  deletes them, in chunks inside its time-boxed steps (``store/purge.py``): whichever process runs it
  first deletes them, once (a conditional DELETE), and no replica has to be up for it;
- a job's folder is on one replica's disk, so each replica sweeps its own (``sweep_purged``, from the
  job housekeeping every minute): the folders untouched for the retention window whose job is gone
  or ended before it. A replica that is down keeps its folders until it is back, holding up no one.

Only ended jobs (succeeded, failed, cancelled) go, counted from when they ended; queued and running
jobs are never touched, however old.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from capsight.jobs.values import FINISHED, is_job_id
from capsight.store.database import Database, lift_timeouts
from capsight.store.sqlalchemy_import import load_sqlalchemy

logger = logging.getLogger(__name__)

CHUNK_JOBS = 100  # job rows per transaction, once their published results are gone
PARTS_PER_TX = 8  # published parts per transaction: up to 4 MB of JSON each before gzip
SWEEP_BATCH = 200  # folders per question to the database
STEP_S = 0.5  # a sweep stops after this (as the request log's purge steps); the next one goes on

KeptOf = Callable[[Sequence[str], datetime], set[str]]


def ended_at(job: Any) -> Any:
    """When a job ended: ``finished_at``, or its last update for a row that never recorded one."""
    from sqlalchemy import func

    return func.coalesce(job.finished_at, job.updated_at)


def expired(state: str, finished_at: datetime | None, days: float) -> bool:
    """Whether the retention has deleted (or is about to delete) this job: the API answers such a job
    as gone even while its row waits for the next purge step."""
    if days <= 0 or state not in FINISHED or finished_at is None:
        return False
    cutoff = cutoff_of(days)
    moment = finished_at if finished_at.tzinfo else finished_at.replace(tzinfo=UTC)
    return cutoff is not None and moment < cutoff


def purged_hint(days: float) -> str:
    """What a 404 adds where the retention deletes jobs: the id may have named one that went."""
    if days <= 0:
        return ""
    return f" (ended jobs are deleted with their results after CAPSIGHT_RETENTION_DAYS={days:g} days)"


def cutoff_of(days: float) -> datetime | None:
    """None: further back than year 1, which nothing is (a huge number of days keeps everything)."""
    try:
        return datetime.now(UTC) - timedelta(days=days)
    except OverflowError:
        return None


def purge_finished_jobs(
    db: Database, cutoff: datetime, *, chunk: int = CHUNK_JOBS, until: float | None = None
) -> tuple[int, bool]:
    """Delete the jobs that ended before ``cutoff``: first their published results, ``PARTS_PER_TX``
    parts a transaction, then the rows, ``chunk`` a transaction. With ``until`` (a monotonic time),
    stop after the transaction that ran past it. Returns the jobs deleted and whether all due went.

    Why parts first and few at a time: a job's results may be many MB; 100 jobs of 8 MB in one
    transaction made another write (a heartbeat, a claim, the request log's batch) wait 5.3 s on
    SQLite, and the purge step meant to last 0.5 s lasted 5 to 12 s. A job whose results went but
    whose row is left (out of time) is answered as gone all the same (``expired``); its row goes at
    the next step.
    """
    load_sqlalchemy()
    from sqlalchemy import and_, delete, or_, select

    from capsight.store.models import Job, JobItem, JobResultPart

    due = Job.state.in_(sorted(FINISHED)), ended_at(Job) < cutoff
    part_key = select(JobResultPart.job_id, JobResultPart.part).join(Job, Job.id == JobResultPart.job_id)
    while True:
        with db.session() as session, session.begin():
            lift_timeouts(session, lock=False)  # as store/purge.py's chunks
            keys = session.execute(part_key.where(*due).limit(PARTS_PER_TX)).all()
            if keys:
                one = [and_(JobResultPart.job_id == j, JobResultPart.part == p) for j, p in keys]
                session.execute(delete(JobResultPart).where(or_(*one)))
        if len(keys) < PARTS_PER_TX:
            break
        if until is not None and time.monotonic() >= until:
            return 0, False
    deleted = 0
    while True:
        with db.session() as session, session.begin():
            lift_timeouts(session, lock=False)
            ids = list(session.scalars(select(Job.id).where(*due).limit(chunk)))
            if ids:
                session.execute(delete(JobResultPart).where(JobResultPart.job_id.in_(ids)))  # a late publish
                session.execute(delete(JobItem).where(JobItem.job_id.in_(ids)))
                result = session.execute(delete(Job).where(Job.id.in_(ids), *due))
                deleted += int(getattr(result, "rowcount", 0) or 0)
        if len(ids) < chunk:
            return deleted, True
        if until is not None and time.monotonic() >= until:
            return deleted, False


def sweep_purged(root: Path, kept_of: KeptOf, *, days: float, budget_s: float | None = None) -> int:
    """Delete the folders under ``root`` (this replica's) of jobs the retention deletes: untouched for
    ``days``, holding no inputs (those are ``retention.sweep``'s: an upload being received, a live
    job's), and whose job ``kept_of`` does not keep (gone, or ended before the cutoff). With
    ``budget_s``, stop after the folder that ran past it; the next sweep goes on. Returns how many."""
    # Here, not at the top: the request log's purge imports this module, and the folder layout
    # brings the batch runner (NumPy, 0.3 s) into `capsight db purge`.
    from capsight.jobs.layout import JobPaths
    from capsight.jobs.retention import has_inputs

    cutoff = cutoff_of(days) if days > 0 else None
    if cutoff is None or not root.is_dir():
        return 0
    until = None if budget_s is None else time.monotonic() + budget_s
    since = cutoff.timestamp()
    removed = 0
    batch: list[Path] = []
    for folder in root.iterdir():
        if not is_job_id(folder.name) or not _old(folder, since) or has_inputs(JobPaths(folder)):
            continue
        batch.append(folder)
        if len(batch) >= SWEEP_BATCH:
            done, more = _remove(batch, kept_of, cutoff, until)
            removed, batch = removed + done, []
            if not more:
                break
    else:
        removed += _remove(batch, kept_of, cutoff, until)[0]
    if removed:
        logger.info("retention: deleted the folders of %d jobs that ended over %g days ago", removed, days)
    return removed


def _old(folder: Path, since: float) -> bool:
    """One stat for most folders: the folder's own time is never newer than its newest entry."""
    from capsight.jobs.retention import untouched_since

    try:
        if folder.stat().st_mtime >= since:
            return False
    except OSError:
        return False
    return untouched_since(folder) < since


def _remove(folders: list[Path], kept_of: KeptOf, cutoff: datetime, until: float | None) -> tuple[int, bool]:
    """The number deleted, and whether there is time left. The clock is read after each folder: one
    of a big job (its results, a few MB) takes milliseconds, 500 of them took seconds."""
    if not folders:
        return 0, True
    kept = kept_of([f.name for f in folders], cutoff)
    removed = 0
    for folder in folders:
        if folder.name in kept:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += not folder.exists()
        if until is not None and time.monotonic() >= until:
            return removed, False
    return removed, True
