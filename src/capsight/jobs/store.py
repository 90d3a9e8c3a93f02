"""The ``jobs`` table: the one durable record of every job, shared by all server processes.

Every state change that two processes could race on is a conditional UPDATE (``... WHERE state =
'queued'``, ``... AND runner = me``), so a job is claimed by exactly one worker, a cancel never
resurrects a finished job, and a worker that lost its job (recovered by another process after it
stopped heartbeating) notices at its next heartbeat instead of overwriting the new owner's state.

SQLAlchemy is imported inside the methods, like the rest of the store, so importing this module
costs nothing at server start.

:class:`JobStore` is what the API uses (create, read, list, cancel); what the workers use (claim,
heartbeat, finish, release, recover) is its :class:`~capsight.jobs.jobqueue.JobQueue` half, in
``jobqueue.py``, and the row-to-value conversion both share is in ``rows.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from capsight.errors import BadRequest
from capsight.jobs.cursor import read_cursor
from capsight.jobs.jobqueue import JobQueue
from capsight.jobs.rows import (
    SOURCE,
    has_source,
    job_info,
    light_info,
    shown_spec,
    source_copy,
    spec_columns,
    spec_from_columns,
)
from capsight.jobs.values import CANCELLED, FINISHED, QUEUED, RUNNING, JobInfo, JobSpec
from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy

MAX_LIST = 1000


class JobStore(JobQueue):
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
            # The source as shown, beside the parameters: a poll or a webhook reads it, not a URL
            # job's list.
            summary={**(summary or {}), SOURCE: source_copy(spec)},
        )
        with self.db.session() as session, session.begin():
            session.add(row)
            session.flush()
            return job_info(row)

    def get(self, job_id: str) -> JobInfo | None:
        load_sqlalchemy()
        from capsight.store.models import Job

        with self.db.session() as session:
            row = session.get(Job, job_id)
            return job_info(row) if row is not None else None

    def status(self, job_id: str) -> JobInfo | None:
        """The job as its status shows it: a URL job's spec has the list's length, not the list
        (``get`` reads it whole; see ``spec_columns``)."""
        load_sqlalchemy()
        from capsight.store.models import Job

        jobs = self._light([Job.id == job_id], limit=1)
        return jobs[0] if jobs else None

    def list_jobs(
        self,
        *,
        client_id: str | None = None,
        state: str | None = None,
        limit: int = 50,
        before: str | None = None,
        ended_since: datetime | None = None,
    ) -> list[JobInfo]:
        """Newest first; each as ``status`` reads it (a listing of big URL jobs parsed every list).

        ``before``: only the jobs listed after that one (the last of the previous page): a cursor,
        its id and creation time (``jobs/cursor.py``), or its id alone, the time then looked up. A
        job, not an offset, so jobs created while a client pages neither shift a page nor show twice.
        ``ended_since``: leave out the jobs that ended before then (past the retention, their rows
        wait for the next purge step while their own URLs answer 404)."""
        load_sqlalchemy()
        from sqlalchemy import and_, or_, select

        from capsight.store.models import Job

        conditions = [] if client_id is None else [Job.client_id == client_id]
        if state is not None:
            conditions.append(Job.state == state)
        if ended_since is not None:
            from capsight.jobs.purge import ended_at

            conditions.append(or_(Job.state.not_in(sorted(FINISHED)), ended_at(Job) >= ended_since))
        if before is not None:
            cursor = read_cursor(before)
            if cursor is None:
                raise BadRequest(f"before={before[:100]!r} names no job.")
            before_id, mark = cursor
            if mark is None:
                with self.db.session() as session:
                    mark = session.execute(select(Job.created_at).where(Job.id == before_id)).scalar()
            if mark is None:
                raise BadRequest(
                    f"before={before_id!r} names no job: it may have been purged (CAPSIGHT_RETENTION_DAYS) "
                    "since the page that named it. Start again from the first page; the 'next' links "
                    "it gives go on past a job purged meanwhile."
                )
            conditions.append(or_(Job.created_at < mark, and_(Job.created_at == mark, Job.id < before_id)))
        return self._light(conditions, limit=min(limit, MAX_LIST))

    def _light(self, conditions: list[Any], *, limit: int | None) -> list[JobInfo]:
        """Newest first, with the parameters the status shows and never the URL list (raiseload:
        reading it by mistake fails here, not slowly in production)."""
        from sqlalchemy import select
        from sqlalchemy.orm import defer

        from capsight.store.models import Job

        query = select(Job).options(defer(Job.params, raiseload=True)).where(*conditions)
        query = query.order_by(Job.created_at.desc(), Job.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.db.session() as session:
            rows = list(session.scalars(query))
            older = [row.id for row in rows if not has_source(row)]
            legacy = {}
            if older:  # created before the summary kept its source: counted by the database
                columns = spec_columns(self.db.dialect)
                for job_id, *values in session.execute(select(Job.id, *columns).where(Job.id.in_(older))):
                    legacy[job_id] = spec_from_columns(values)
            return [job_info(row, shown_spec(row, legacy.get(row.id))) for row in rows]

    def kept_of(self, ids: Sequence[str], before: datetime) -> set[str]:
        """Of these job ids, those whose jobs the retention keeps (``jobs/purge.py``): not ended, or
        ended at ``before`` or since. An id with no row (purged) is not kept."""
        load_sqlalchemy()
        from sqlalchemy import or_, select

        from capsight.jobs.purge import ended_at
        from capsight.store.models import Job

        live = or_(Job.state.not_in(sorted(FINISHED)), ended_at(Job) >= before)
        with self.db.session() as session:
            return set(session.scalars(select(Job.id).where(Job.id.in_(list(ids)), live)))

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
        from sqlalchemy.orm import defer

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
            # Not the parameters: the answer shows a URL job's count, and loading the row parsed its
            # whole list (16 MB of JSON) under the GIL at every DELETE.
            row = session.get(Job, job_id, options=[defer(Job.params)])
            return (light_info(row) if row is not None else None), ended == 1

    def update_summary(self, job_id: str, parts: dict[str, Any]) -> JobInfo | None:
        load_sqlalchemy()
        from sqlalchemy.orm import defer

        from capsight.store.models import Job

        with self.db.session() as session, session.begin():
            # Not the parameters: each webhook delivery writes here, and loading the row parsed a
            # URL job's whole list (16 MB of JSON) under the GIL to record one small dict.
            row = session.get(Job, job_id, with_for_update=True, options=[defer(Job.params)])
            if row is None:
                return None
            row.summary = {**(row.summary or {}), **parts}
            return light_info(row)

    def pending_webhooks(self, since: datetime) -> list[JobInfo]:
        """Finished jobs whose webhook was not delivered yet (the server stopped while retrying)."""
        load_sqlalchemy()

        from capsight.store.models import Job

        conditions = [Job.state.in_(sorted(FINISHED)), Job.webhook_url.is_not(None), Job.finished_at >= since]
        jobs = self._light(conditions, limit=None)  # their lists are not needed to know that
        return [j for j in jobs if (j.summary.get("webhook") or {}).get("state", "pending") == "pending"]
