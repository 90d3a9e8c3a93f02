"""The workers' side of the ``jobs`` table: claiming a queued job, heartbeats, recording how a run
ended, and taking back the jobs of runners that are gone.

Split from ``store.py``: :class:`JobQueue` is a mixin of :class:`~capsight.jobs.store.JobStore`, so
callers keep one store; every state change here is a conditional UPDATE (see ``store.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from capsight.jobs.rows import apply_progress, job_info, light_info, placed_spec
from capsight.jobs.values import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, JobInfo, Progress, pinned_node
from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from capsight.store.models import Job

# The store's logger, as before this module was split from store.py: the same name in the log.
logger = logging.getLogger("capsight.jobs.store")

CLAIM_PAGE = 50  # queued jobs read at a time while looking for one this node may run
# A job whose server was gone before it finished this many times in a row, with no more rows done
# in any of those runs, is failed, not re-queued.
MAX_ABANDONED_RUNS = 3
GAVE_UP_ERROR = (
    f"The server running this job stopped before it finished, {MAX_ABANDONED_RUNS} times in a row "
    "without classifying any more of its images: it was not started again, in case the job itself "
    "brings the server down (an image too large for its memory?). Create the job again, perhaps "
    "with fewer or smaller images."
)
# Rows done when the current run was claimed, kept in the row's summary (no column of its own): a
# run lost after recording more is no sign of a poison job (see ``recover``).
RUN_STARTED_DONE = "run_started_done"


def _end_run(row: Job) -> None:
    """Drop the run's marker (``RUN_STARTED_DONE``): only a running job's recovery reads it, and a
    finished job's summary holds what clients and webhooks are told."""
    if row.summary and RUN_STARTED_DONE in row.summary:
        row.summary = {k: v for k, v in row.summary.items() if k != RUN_STARTED_DONE}


def _owned_running_row(session: Session, job_id: str, runner: str, progress: Progress | None) -> Job | None:
    """The job's row, locked for the rest of ``session``'s transaction, with the run's last progress
    applied and its marker dropped, for ``finish`` and ``release`` to record how the run ended.

    None when the job is no longer ours to end (gone, not running, or taken over by another runner):
    the row is then left as it is."""
    from sqlalchemy.orm import defer

    from capsight.store.models import Job

    # Not the parameters: loading the row parsed a URL job's whole list (16 MB of JSON) under the GIL
    # at the end of every run, to write its state (``light_info`` shows its count).
    row = session.get(Job, job_id, with_for_update=True, options=[defer(Job.params)])
    if row is None or row.state != RUNNING or row.runner != runner:
        return None
    apply_progress(row, progress)
    _end_run(row)
    return row


@dataclass(frozen=True)
class Heartbeat:
    owned: bool  # False: the job is no longer ours (cancelled while queued, or taken over)
    cancel_requested: bool


class JobQueue:
    """The part of :class:`~capsight.jobs.store.JobStore` that the job workers use."""

    db: Database

    def claim_next(self, runner: str, node: str) -> JobInfo | None:
        """Take the oldest queued job this process may run (zip jobs only on their own node).

        The queue is read a page at a time, oldest first, until a job this node may run is claimed:
        reading only the first page left a replica idle while its own jobs waited behind more than a
        page of zip jobs pinned to a busy replica."""
        load_sqlalchemy()
        from sqlalchemy import and_, or_, select

        from capsight.store.models import Job

        # Two short fields of each job's parameters, not all of them: a URL job's are its whole list
        # (16 MB of JSON at most), and a page of a backlog of them was parsed and held at once.
        kind, pinned = Job.params["kind"].as_string(), Job.params["node"].as_string()
        after: tuple[datetime, str] | None = None
        while True:
            query = select(Job.id, kind, pinned, Job.created_at).where(Job.state == QUEUED)
            if after is not None:
                query = query.where(
                    or_(Job.created_at > after[0], and_(Job.created_at == after[0], Job.id > after[1]))
                )
            with self.db.session() as session:
                page = session.execute(query.order_by(Job.created_at, Job.id).limit(CLAIM_PAGE)).all()
            for job_id, job_kind, job_node, _ in page:
                wanted_node = pinned_node({"kind": job_kind, "node": job_node})
                if wanted_node is not None and wanted_node != node:
                    continue
                job = self._claim(job_id, runner)
                if job is not None:
                    return job
            if len(page) < CLAIM_PAGE:
                return None
            after = (page[-1][3], page[-1][0])

    def _claim(self, job_id: str, runner: str) -> JobInfo | None:
        """Move one queued job to running for ``runner``; None when another worker was faster."""
        from sqlalchemy import update

        from capsight.store.models import Job, utcnow

        now = utcnow()
        with self.db.session() as session, session.begin():
            claimed = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == QUEUED)
                .values(state=RUNNING, runner=runner, updated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                return None  # another worker was faster
            row = session.get(Job, job_id)
            assert row is not None
            if row.started_at is None:
                row.started_at = now
            row.summary = {**(row.summary or {}), RUN_STARTED_DONE: row.done}
            session.flush()
            return job_info(row)

    def heartbeat(self, job_id: str, runner: str, progress: Progress | None = None) -> Heartbeat:
        load_sqlalchemy()
        from sqlalchemy.orm import defer

        from capsight.store.models import Job, utcnow

        with self.db.session() as session, session.begin():
            # Not the parameters: loading the row parsed a URL job's whole list (16 MB of JSON) under
            # the GIL, twice a second for as long as the job ran, to write three counters.
            row = session.get(Job, job_id, with_for_update=True, options=[defer(Job.params, raiseload=True)])
            if row is None or row.state != RUNNING or row.runner != runner:
                return Heartbeat(owned=False, cancel_requested=bool(row and row.cancel_requested))
            apply_progress(row, progress)
            row.updated_at = utcnow()
            return Heartbeat(owned=True, cancel_requested=bool(row.cancel_requested))

    def finish(
        self, job_id: str, runner: str, state: str, progress: Progress | None = None, error: str | None = None
    ) -> JobInfo | None:
        """Record the end of a run; None when the job was no longer ours to finish."""
        assert state in FINISHED
        load_sqlalchemy()
        from capsight.store.models import utcnow

        with self.db.session() as session, session.begin():
            row = _owned_running_row(session, job_id, runner, progress)
            if row is None:
                return None
            now = utcnow()
            row.state, row.error, row.finished_at, row.updated_at = state, error, now, now
            return light_info(row)

    def release(self, job_id: str, runner: str, progress: Progress | None = None) -> JobInfo | None:
        """Put a running job back in the queue (this server is shutting down); it resumes later.

        A job whose cancel was requested ends ``cancelled`` instead: the cancel came after the
        worker's last look, found the job running and only flagged it, and the client was told it
        would end; back in the queue it waited for a worker of its node. None when the job was no
        longer ours."""
        load_sqlalchemy()
        from capsight.store.models import utcnow

        with self.db.session() as session, session.begin():
            row = _owned_running_row(session, job_id, runner, progress)
            if row is None:
                return None
            now = utcnow()
            if row.cancel_requested:
                row.state, row.finished_at, row.updated_at = CANCELLED, now, now
            else:
                row.state, row.runner, row.updated_at = QUEUED, None, now
            return light_info(row)

    def recover(
        self,
        is_abandoned: Callable[[JobInfo], bool],
        on_failed: Callable[[str], None] | None = None,
        server_was_lost: Callable[[JobInfo], bool] = lambda job: True,
    ) -> list[str]:
        """Re-queue running jobs whose runner is gone, as judged by ``is_abandoned(job)``.

        A job whose server was lost (``server_was_lost(job)``: not a live runner whose end a
        database blip kept from being recorded) for the MAX_ABANDONED_RUNS-th time is failed
        instead (``on_failed(job_id)`` is called for it): each restart put it back, so a job that
        takes its server down (memory, a decoder crash) brought it down again at every start, for
        ever. An orderly stop (``release``) never counts, and a lost run that recorded more rows
        done than it started with resets the count: a job of many hours that made progress between
        unrelated crashes was failed as poison, though a poison image stops every run at the same
        row. Returns the ids re-queued."""
        load_sqlalchemy()
        from sqlalchemy import select, update
        from sqlalchemy.orm import defer

        from capsight.store.models import Job, utcnow

        with self.db.session() as session:
            # Not a URL job's list (16 MB of JSON, parsed under the GIL, per running job every minute):
            # its source as kept in the summary says all is_abandoned reads (no node pins it).
            query = select(Job).options(defer(Job.params)).where(Job.state == RUNNING)
            running = [job_info(row, placed_spec(row)) for row in session.scalars(query)]
        requeued = []
        for job in running:
            if not is_abandoned(job):
                continue
            job_id, runner, heartbeat = job.id, job.runner, job.updated_at
            still_abandoned = (Job.id == job_id, Job.state == RUNNING, Job.updated_at == heartbeat)
            # Read with the heartbeat that still_abandoned matches, so no later progress is missed.
            progressed = job.done > int(job.summary.get(RUN_STARTED_DONE, job.done))
            counted = server_was_lost(job) and not progressed
            with self.db.session() as session, session.begin():
                moved = session.execute(
                    update(Job)
                    .where(*still_abandoned, Job.abandoned_runs < MAX_ABANDONED_RUNS - (1 if counted else 0))
                    .values(
                        state=QUEUED,
                        runner=None,
                        abandoned_runs=0 if progressed else Job.abandoned_runs + (1 if counted else 0),
                    )
                ).rowcount  # type: ignore[attr-defined]
                now = utcnow()
                failed = (
                    0
                    if moved
                    else session.execute(
                        update(Job)
                        .where(*still_abandoned)
                        .values(
                            state=FAILED,
                            runner=None,
                            abandoned_runs=Job.abandoned_runs + 1,
                            error=GAVE_UP_ERROR,
                            finished_at=now,
                            updated_at=now,
                        )
                    ).rowcount  # type: ignore[attr-defined]
                )
            if moved == 1:
                logger.info("job %s: runner %s is gone; re-queued", job_id, runner)
                requeued.append(job_id)
            elif failed == 1:
                logger.error(
                    "job %s: its server was gone before it finished, %d times in a row without "
                    "progress; failed, not re-queued (did it take the server down?)",
                    job_id,
                    MAX_ABANDONED_RUNS,
                )
                if on_failed is not None:
                    on_failed(job_id)
        return requeued
