"""The async jobs API: ``POST /v1/jobs`` (zip, URL list or S3 prefix), status, results, cancel, list.

Creating a job only validates and stores it (the zip is streamed to disk and its directory checked;
URLs and prefixes are checked against the allowlist), then answers 202 at once; a worker thread
runs it (see ``capsight.jobs.manager``). Jobs are private to the key that created them when auth is
on: another caller gets 404, as if the job did not exist, and the listing shows a key its own jobs
only; admins see every job, and whose it is (``client_id``).

Results: 409 while the job is queued or running, unless ``partial=true``; once it has ended, the
rows it has (all of them when it succeeded; ``X-Capsight-Partial: true`` when it was cancelled or
failed part-way).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from python_multipart.multipart import parse_options_header

from capsight.api.job_requests import check_queue, check_zip_runs_here, json_job, zip_job
from capsight.api.job_views import listed_owner, shown, visible
from capsight.api.json_body import JSON_TYPE, is_json_type, sent_type
from capsight.api.query_checks import strict_query
from capsight.api.routes.common import RATE_LIMITED, UNAUTHORIZED, error_doc, scope_forbidden
from capsight.api.runtime import get_runtime
from capsight.api.security import ClassifyAccess
from capsight.api.uploads import refuse_encoded_body
from capsight.errors import (
    BadRequest,
    CapsightError,
    Conflict,
    NotFound,
    ServiceUnavailable,
    first_line,
)
from capsight.jobs.cursor import cursor_of
from capsight.jobs.manager import JobManager
from capsight.jobs.purge import cutoff_of, expired, purged_hint
from capsight.jobs.results import FORMATS, render, results_for
from capsight.jobs.schemas import JobCreate, JobListOut, JobOut
from capsight.jobs.values import FAILED, FINISHED, STATES, SUCCEEDED, JobInfo, is_job_id, new_job_id
from capsight.store.deadline import call_with_deadline
from capsight.store.protocols import Principal
from capsight.wording import days as days_text

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
T = TypeVar("T")

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: UNAUTHORIZED,
    403: scope_forbidden("The credentials lack the needed scope."),
    429: RATE_LIMITED,
    503: error_doc(
        "The job database is unreachable, this server has no database, or the job queue is full "
        "(max_queued_jobs; with Retry-After)."
    ),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error_doc("No such job (or not yours).")}
_RESULT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "One row per image.", "content": {m: {} for m in FORMATS.values()}},
    400: error_doc("Unknown format, or format or partial given more than once."),
    409: error_doc(
        "The job has not finished (ask with partial=true for the rows so far), or only the replica "
        "running it has its rows so far."
    ),
}


def _manager(request: Request) -> JobManager:
    manager: JobManager | None = getattr(request.app.state, "jobs", None)
    if manager is None:
        raise ServiceUnavailable("Jobs need a database, and this server was built without one.")
    return manager


async def _db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database calls off the event loop; an unreachable database is 503, not 500."""
    try:
        return await call_with_deadline(functools.partial(fn, *args, **kwargs))
    except CapsightError:
        raise
    except Exception as exc:
        logger.warning("job database call %s failed: %s", getattr(fn, "__name__", fn), first_line(exc))
        raise ServiceUnavailable("The job database is unavailable; retry shortly.", retry_after=5) from exc


async def _own_job(manager: JobManager, job_id: str, principal: Principal) -> JobInfo:
    # Not ``get``: it parses a URL job's whole list (16 MB of JSON), where a poll shows its length.
    job = await _db(manager.store.status, job_id) if is_job_id(job_id) else None
    days = manager.settings.retention_days
    if job is None or not visible(job, principal):
        raise NotFound(f"No job {job_id!r}{purged_hint(days)}.")
    if expired(job.state, job.finished_at, days):  # its row waits for the next purge step
        raise NotFound(f"No job {job_id!r}: it ended over {days_text(days)} ago{purged_hint(days)}.")
    return job


@router.post(
    "",
    summary="Create a classification job",
    status_code=202,
    response_model=JobOut,
    responses=_AUTH_ERRORS
    | {
        400: error_doc(
            "No zip, not a zip, no images, an unknown or repeated form field, a refused "
            "URL/prefix/webhook, or bad JSON."
        ),
        408: error_doc("The upload stalled (CAPSIGHT_BODY_IDLE_TIMEOUT_SECONDS)."),
        413: error_doc(
            "Upload over max_job_upload_bytes, a zip claiming too many images or bytes, or a zip "
            "needing more than this replica's whole disk budget for job files (max_job_disk_bytes)."
        ),
        503: error_doc(
            "The job database is unreachable, this server has no database, the job queue is full "
            "(max_queued_jobs), other jobs hold this replica's disk budget for job files "
            "(max_job_disk_bytes), or a zip reached a replica that runs no job workers while others "
            "do; with Retry-After."
        ),
        415: error_doc("A compressed body (Content-Encoding): send it uncompressed."),
        507: error_doc("The server's disk filled up while the upload was written (nothing was kept)."),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "webhook_url": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                },
                "application/json": {"schema": JobCreate.model_json_schema()},
            },
        }
    },
)
async def create_job(request: Request, principal: ClassifyAccess) -> JSONResponse:
    """A zip of images (multipart field ``file``), or JSON ``{"urls": [...]}`` or ``{"s3_prefix":
    ...}``; optional ``webhook_url``. Answers 202 with the job and its ``Location`` at once."""
    refuse_encoded_body(request)  # 415, as the uploads: a compressed zip or JSON read as sent was a 400
    manager = _manager(request)
    ctype, _ = parse_options_header(request.headers.get("content-type", ""))
    await _db(check_queue, manager)
    job_id = new_job_id()
    if ctype == b"multipart/form-data":
        await _db(check_zip_runs_here, manager)
        new = await zip_job(request, manager, job_id)
    elif is_json_type(request.headers.get("content-type", "")):
        new = await json_job(request, manager)
    else:
        # `curl -d '{"urls": ...}'` labels JSON application/x-www-form-urlencoded: name the header.
        raise BadRequest(
            'Send a zip as multipart field \'file\', or JSON {"urls": [...]} or {"s3_prefix": ...} '
            f"with {JSON_TYPE} {sent_type(request.headers.get('content-type', ''))}."
        )
    stored: list[JobInfo] = []  # the row, once its commit has returned

    def create_row() -> JobInfo:
        job = manager.store.create(
            job_id,
            client_id=principal.id,
            spec=new.spec,
            webhook_url=new.webhook_url,
            total=new.total,
            summary=new.summary,
        )
        stored.append(job)
        return job

    try:
        job = await _db(create_row)
    except BaseException:
        # Cancelled after the row landed (the client went; _db waits for a commit that has begun):
        # the job exists, so its upload stays and it runs. Otherwise neither is kept.
        if stored:
            manager.wake()
        else:
            shutil.rmtree(manager.paths(job_id).root, ignore_errors=True)
        raise
    manager.wake()
    body = shown(job, request, principal)
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})


@router.get(
    "",
    summary="List jobs (a key's own; every job for admins)",
    response_model=JobListOut,
    responses=_AUTH_ERRORS
    | {
        400: error_doc(
            f"state is not one of {', '.join(STATES)}, client_id is empty, before names no job, "
            "state, client_id, limit or before is given more than once, or a parameter is not one of them."
        ),
        403: scope_forbidden(
            "The credentials lack the classify scope, or client_id names another client (admins only)."
        ),
    },
    dependencies=[Depends(strict_query())],
)
async def list_jobs(
    request: Request,
    principal: ClassifyAccess,
    state: Annotated[str | None, Query(description=f"Only jobs in this state: {', '.join(STATES)}.")] = None,
    client_id: Annotated[
        str | None, Query(description="Only jobs created by this client (admins: a key lists its own).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[
        str | None, Query(description="Only the jobs listed after this one: what a page's 'next' link sets.")
    ] = None,
) -> JSONResponse:
    """Newest first, ``limit`` at a time; a full page links the next (``next``, else null). A key
    without the admin scope sees the jobs it created, as it does on every other jobs route."""
    if state is not None and state not in STATES:
        raise BadRequest(f"state must be one of {', '.join(STATES)}.")
    client_id = listed_owner(principal, client_id)  # a 400 when empty, 403 when not the key's own
    manager = _manager(request)
    since = cutoff_of(manager.settings.retention_days) if manager.settings.retention_days else None
    query = {"client_id": client_id, "state": state, "limit": limit, "before": before, "ended_since": since}
    jobs = await _db(manager.store.list_jobs, **query)
    following = (
        str(request.url.include_query_params(before=cursor_of(jobs[-1]))) if len(jobs) == limit else None
    )
    return JSONResponse({"jobs": [shown(j, request, principal) for j in jobs], "next": following})


@router.get(
    "/{job_id}",
    summary="A job's state and progress",
    response_model=JobOut,
    responses=_AUTH_ERRORS | _NOT_FOUND,
)
async def get_job(job_id: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    job = await _own_job(_manager(request), job_id, principal)
    return JSONResponse(shown(job, request, principal))


@router.get(
    "/{job_id}/results",
    summary="A job's results (CSV or JSON lines)",
    response_class=StreamingResponse,
    responses=_AUTH_ERRORS | _NOT_FOUND | _RESULT_ANSWERS,
    dependencies=[Depends(strict_query())],
)
async def get_results(
    job_id: str,
    request: Request,
    principal: ClassifyAccess,
    format: Annotated[str, Query(description="csv or jsonl")] = "csv",
    partial: Annotated[
        bool, Query(description="Also answer while the job runs, with the rows so far.")
    ] = False,
) -> StreamingResponse:
    if format not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}.")
    manager = _manager(request)
    job = await _own_job(manager, job_id, principal)
    if not job.finished and not partial:
        # Named here: a script that did not know of partial=true could only poll until the end.
        raise Conflict(
            f"Job {job_id} is {job.state}; its results are ready when it has finished"
            " (ask with partial=true for the rows so far)."
        )
    records = await asyncio.to_thread(results_for, job, manager.paths(job.id), manager.shared)
    labels = job.summary.get("labels") or []
    if not labels:
        runtime = get_runtime(request)
        labels = (
            list(runtime.metadata.labels)
            if runtime.ready
            else list(records[0].probabilities)
            if records
            else []
        )
    headers = {
        "Content-Disposition": f'attachment; filename="job-{job.id}.{format}"',
        "X-Capsight-Partial": "false" if job.state == SUCCEEDED else "true",
        "X-Capsight-Job-State": job.state,
    }
    return StreamingResponse(render(records, labels, format), media_type=FORMATS[format], headers=headers)


@router.delete(
    "/{job_id}",
    summary="Cancel a job",
    response_model=JobOut,
    responses=_AUTH_ERRORS | _NOT_FOUND | {409: error_doc("The job has already succeeded or failed.")},
)
async def cancel_job(job_id: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    """A queued job is cancelled at once (200); a running one stops after its current batch (202, then
    ``cancelled``, keeping the results it has). Cancelling a cancelled job is a no-op."""
    manager = _manager(request)
    job = await _own_job(manager, job_id, principal)
    if job.finished and job.state != "cancelled":
        raise Conflict(f"Job {job_id} has already {job.state}.")
    updated = await _db(manager.cancel, job.id)
    assert updated is not None
    if updated.state in (SUCCEEDED, FAILED):  # it ended between the read above and the cancel
        raise Conflict(f"Job {job_id} has already {updated.state}.")
    status = 200 if updated.state in FINISHED else 202
    return JSONResponse(shown(updated, request, principal), status_code=status)
