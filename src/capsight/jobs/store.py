"""The ``jobs`` table: the one durable record of every job, shared by all server processes.

Every state change that two processes could race on is a conditional UPDATE (``... WHERE state =
'queued'``, ``... AND runner = me``), so a job is claimed by exactly one worker, a cancel never
resurrects a finished job, and a worker that lost its job (recovered by another process after it
stopped heartbeating) notices at its next heartbeat instead of overwriting the new owner's state.

SQLAlchemy is imported inside the methods, like the rest of the store, so importing this module
costs nothing at server start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capsight.jobs.values import (
    CANCELLED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    JobInfo,
    JobSpec,
    Progress,
    pinned_node,
)
from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy

if TYPE_CHECKING:
    from capsight.store.models import Job

logger = logging.getLogger(__name__)

MAX_LIST = 1000
CLAIM_PAGE = 50  # queued jobs read at a time while looking for one this node may run
# A job whose server was gone before it finished this many times in a row is failed, not re-queued.
MAX_ABANDONED_RUNS = 3
GAVE_UP_ERROR = (
    f"The server running this job stopped before it finished, {MAX_ABANDONED_RUNS} times: it was not "
    "started again, in case the job itself brings the server down (an image too large for its "
    "memory?). Create the job again, perhaps with fewer or smaller images."
)


@dataclass(frozen=True)
class Heartbeat:
    owned: bool  # False: the job is no longer ours (cancelled while queued, or taken over)
    cancel_requested: bool


def _info(row: Job) -> JobInfo:
    return JobInfo(
        id=row.id,
        state=row.state,
        client_id=row.client_id,
        spec=JobSpec.from_params(row.params or {"kind": "zip"}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        total=row.total,
        done=row.done,
        failed=row.failed,
        webhook_url=row.webhook_url,
        error=row.error,
        cancel_requested=bool(row.cancel_requested),
        runner=row.runner,
        summary=dict(row.summary or {}),
    )


def _apply(row: Job, progress: Progress | None) -> None:
    if progress is None:
        return
    row.done, row.total, row.failed = progress.done, progress.total, progress.failed
    if progress.summary:
        row.summary = {**(row.summary or {}), **progress.summary}


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the API's side ----------------------------------------------------------------------------

    def create(
        self,
        job_id: str,
        *,
        client_id: str | None,
        spec: JobSpec,
        webhook_url: str | None,
        total: int,
        summary: dict[str, Any] | None = None,
    ) -> JobInfo:
        load_sqlalchemy()
        from capsight.store.models import Job, utcnow

        now = utcnow()
        row = Job(
            id=job_id,
            state=QUEUED,
            client_id=client_id,
            created_at=now,
            updated_at=now,
            total=total,
            done=0,
            failed=0,
            params=spec.to_params(),
            results_url=f"/v1/jobs/{job_id}/results",
            webhook_url=webhook_url,
            cancel_requested=False,
            summary=summary or {},
        )
        with self.db.session() as session, session.begin():
            session.add(row)
            session.flush()
            return _info(row)

    def get(self, job_id: str) -> JobInfo | None:
        load_sqlalchemy()
        from capsight.store.models import Job

        with self.db.session() as session:
            row = session.get(Job, job_id)
            return _info(row) if row is not None else None

    def list_jobs(
        self, *, client_id: str | None = None, state: str | None = None, limit: int = 50
    ) -> list[JobInfo]:
        """Newest first."""
        load_sqlalchemy()
        from sqlalchemy import select

        from capsight.store.models import Job

        query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(min(limit, MAX_LIST))
        if client_id is not None:
            query = query.where(Job.client_id == client_id)
        if state is not None:
            query = query.where(Job.state == state)
        with self.db.session() as session:
            return [_info(row) for row in session.scalars(query)]

    def count_queued(self) -> int:
        """Jobs waiting for a worker, on every replica: what ``max_queued_jobs`` bounds."""
        load_sqlalchemy()
        from sqlalchemy import func, select

        from capsight.store.models import Job

        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Job).where(Job.state == QUEUED)) or 0)

    def request_cancel(self, job_id: str) -> tuple[JobInfo | None, bool]:
        """A queued job is cancelled at once (second value True: this call ended it); a running one
        is flagged and its worker stops at the next batch."""
        load_sqlalchemy()
        from sqlalchemy import update

        from capsight.store.models import Job, utcnow

        now = utcnow()
        with self.db.session() as session, session.begin():
            ended = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == QUEUED)
                .values(state=CANCELLED, cancel_requested=True, finished_at=now, updated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            session.execute(
                update(Job).where(Job.id == job_id, Job.state == RUNNING).values(cancel_requested=True)
            )
            row = session.get(Job, job_id)
            return (_info(row) if row is not None else None), ended == 1

    # -- the worker's side ---------------------------------------------------------------------------

    def claim_next(self, runner: str, node: str) -> JobInfo | None:
        """Take the oldest queued job this process may run (zip jobs only on their own node).

        The queue is read a page at a time, oldest first, until a job this node may run is claimed:
        reading only the first page left a replica idle while its own jobs waited behind more than a
        page of zip jobs pinned to a busy replica."""
        load_sqlalchemy()
        from sqlalchemy import and_, or_, select

        from capsight.store.models import Job

        after: tuple[datetime, str] | None = None
        while True:
            query = select(Job.id, Job.params, Job.created_at).where(Job.state == QUEUED)
            if after is not None:
                query = query.where(
                    or_(Job.created_at > after[0], and_(Job.created_at == after[0], Job.id > after[1]))
                )
            with self.db.session() as session:
                page = session.execute(query.order_by(Job.created_at, Job.id).limit(CLAIM_PAGE)).all()
            for job_id, params, _ in page:
                wanted_node = pinned_node(params)
                if wanted_node is not None and wanted_node != node:
                    continue
                job = self._claim(job_id, runner)
                if job is not None:
                    return job
            if len(page) < CLAIM_PAGE:
                return None
            after = (page[-1][2], page[-1][0])

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
            session.flush()
            return _info(row)

    def heartbeat(self, job_id: str, runner: str, progress: Progress | None = None) -> Heartbeat:
        load_sqlalchemy()
        from capsight.store.models import Job, utcnow

        with self.db.session() as session, session.begin():
            row = session.get(Job, job_id, with_for_update=True)
            if row is None or row.state != RUNNING or row.runner != runner:
                return Heartbeat(owned=False, cancel_requested=bool(row and row.cancel_requested))
            _apply(row, progress)
            row.updated_at = utcnow()
            return Heartbeat(owned=True, cancel_requested=bool(row.cancel_requested))

    def finish(
        self, job_id: str, runner: str, state: str, progress: Progress | None = None, error: str | None = None
    ) -> JobInfo | None:
        """Record the end of a run; None when the job was no longer ours to finish."""
        assert state in FINISHED
        load_sqlalchemy()
        from capsight.store.models import Job, utcnow

        with self.db.session() as session, session.begin():
            row = session.get(Job, job_id, with_for_update=True)
            if row is None or row.state != RUNNING or row.runner != runner:
                return None
            _apply(row, progress)
            now = utcnow()
            row.state, row.error, row.finished_at, row.updated_at = state, error, now, now
            return _info(row)

    def release(self, job_id: str, runner: str, progress: Progress | None = None) -> JobInfo | None:
        """Put a running job back in the queue (this server is shutting down); it resumes later.

        A job whose cancel was requested ends ``cancelled`` instead: the cancel came after the
        worker's last look, found the job running and only flagged it, and the client was told it
        would end; back in the queue it waited for a worker of its node. None when the job was no
        longer ours."""
        load_sqlalchemy()
        from capsight.store.models import Job, utcnow

        with self.db.session() as session, session.begin():
            row = session.get(Job, job_id, with_for_update=True)
            if row is None or row.state != RUNNING or row.runner != runner:
                return None
            _apply(row, progress)
            now = utcnow()
            if row.cancel_requested:
                row.state, row.finished_at, row.updated_at = CANCELLED, now, now
            else:
                row.state, row.runner, row.updated_at = QUEUED, None, now
            return _info(row)

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
        ever. An orderly stop (``release``) never counts. Returns the ids re-queued."""
        load_sqlalchemy()
        from sqlalchemy import select, update

        from capsight.store.models import Job, utcnow

        with self.db.session() as session:
            running = [_info(row) for row in session.scalars(select(Job).where(Job.state == RUNNING))]
        requeued = []
        for job in running:
            if not is_abandoned(job):
                continue
            job_id, runner, heartbeat = job.id, job.runner, job.updated_at
            still_abandoned = (Job.id == job_id, Job.state == RUNNING, Job.updated_at == heartbeat)
            lost = server_was_lost(job)
            with self.db.session() as session, session.begin():
                moved = session.execute(
                    update(Job)
                    .where(*still_abandoned, Job.abandoned_runs < MAX_ABANDONED_RUNS - (1 if lost else 0))
                    .values(state=QUEUED, runner=None, abandoned_runs=Job.abandoned_runs + (1 if lost else 0))
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
                    "job %s: its server was gone before it finished, %d times; failed, not "
                    "re-queued (did it take the server down?)",
                    job_id,
                    MAX_ABANDONED_RUNS,
                )
                if on_failed is not None:
                    on_failed(job_id)
        return requeued

    def update_summary(self, job_id: str, parts: dict[str, Any]) -> JobInfo | None:
        load_sqlalchemy()
        from capsight.store.models import Job

        with self.db.session() as session, session.begin():
            row = session.get(Job, job_id, with_for_update=True)
            if row is None:
                return None
            row.summary = {**(row.summary or {}), **parts}
            return _info(row)

    def pending_webhooks(self, since: datetime) -> list[JobInfo]:
        """Finished jobs whose webhook was not delivered yet (the server stopped while retrying)."""
        load_sqlalchemy()
        from sqlalchemy import select

        from capsight.store.models import Job

        query = select(Job).where(
            Job.state.in_(sorted(FINISHED)), Job.webhook_url.is_not(None), Job.finished_at >= since
        )
        with self.db.session() as session:
            jobs = [_info(row) for row in session.scalars(query)]
        return [j for j in jobs if (j.summary.get("webhook") or {}).get("state", "pending") == "pending"]
