"""``POST /v1/jobs/{id}/webhook``: the owner has a finished job's completion webhook sent again.

Why: a delivery that failed for good (the receiver down through every try, a 4xx while it was
misconfigured) stayed ``failed``, and nothing could send the message again. The re-send is the same
event (the same ``X-Capsight-Delivery`` id), with a fresh set of tries; the receiver's URL is checked
against today's allowlist, as at creation.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from capsight.api.job_views import shown
from capsight.api.routes.common import error_doc
from capsight.api.routes.jobs import _AUTH_ERRORS, _NOT_FOUND, _db, _manager, _own_job
from capsight.api.security import ClassifyAccess
from capsight.errors import BadRequest, Conflict
from capsight.jobs.schemas import JobOut

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post(
    "/{job_id}/webhook",
    summary="Send a finished job's webhook again",
    status_code=202,
    response_model=JobOut,
    responses=_AUTH_ERRORS
    | _NOT_FOUND
    | {
        400: error_doc(
            "The job has no webhook_url, webhooks are off on this server, or its URL is no longer "
            "allow-listed (CAPSIGHT_WEBHOOK_ALLOWLIST)."
        ),
        409: error_doc(
            "The job has not finished, or this server process is delivering its webhook right now."
        ),
    },
)
async def resend_webhook(job_id: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    """Answers 202 with the job, its ``webhook`` pending with no attempts yet; poll the job for the
    delivery's outcome. The message is signed afresh and carries the job as it is now."""
    manager = _manager(request)
    job = await _own_job(manager, job_id, principal)
    if job.webhook_url is None:
        raise BadRequest(f"Job {job.id} has no webhook_url: there is no webhook to send.")
    if manager.settings.webhook_secret is None:
        raise BadRequest("Webhooks are not enabled on this server (CAPSIGHT_WEBHOOK_SECRET is unset).")
    refusal = manager.webhook_allowlist.refusal(job.webhook_url)
    if refusal is not None:
        raise BadRequest(f"webhook_url is refused: {refusal}.")
    if not job.finished:
        raise Conflict(
            f"Job {job.id} is {job.state}; its webhook is sent when it has finished, and can be sent "
            "again after that."
        )
    updated = await _db(manager.resend_webhook, job.id)
    if updated is None:
        raise Conflict(
            f"The webhook of job {job.id} is being delivered now; ask again once it is not pending."
        )
    body = shown(updated, request, principal)
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})
