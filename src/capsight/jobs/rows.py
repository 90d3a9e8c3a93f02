"""A row of the ``jobs`` table as the plain :class:`~capsight.jobs.values.JobInfo` the store hands out,
and a run's progress written back into one.

Split from ``store.py``: both halves of the store (the API's side there, the workers' side in
``jobqueue.py``) read and write rows the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsight.jobs.values import JobInfo, JobSpec, Progress

if TYPE_CHECKING:
    from capsight.store.models import Job


def job_info(row: Job) -> JobInfo:
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


def apply_progress(row: Job, progress: Progress | None) -> None:
    if progress is None:
        return
    row.done, row.total, row.failed = progress.done, progress.total, progress.failed
    if progress.summary:
        row.summary = {**(row.summary or {}), **progress.summary}
