"""A job as JSON: one document for ``GET /v1/jobs/{id}``, the job list and the webhook body, so a
client parses the same shape wherever it meets a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from capsight.jobs.values import RUNNING, JobInfo


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_links(job_id: str, base: str = "") -> dict[str, str]:
    root = f"{base.rstrip('/')}/v1/jobs/{job_id}"
    return {
        "self": root,
        "results_csv": f"{root}/results?format=csv",
        "results_jsonl": f"{root}/results?format=jsonl",
    }


def _progress(job: JobInfo) -> dict[str, int]:
    """A URL job downloading (``preparing``) also shows how many URLs it has tried: it is ``done 0``
    until every one is fetched, an hour for 100,000, and a working job read like a stuck one."""
    progress = {"done": job.done, "total": job.total}
    if job.state == RUNNING and job.summary.get("phase") == "preparing" and job.spec.kind == "urls":
        downloaded = job.summary.get("downloaded")  # absent until the first URL is tried
        progress["downloaded"] = downloaded if isinstance(downloaded, int) else 0
    return progress


def job_document(
    job: JobInfo, base: str = "", *, with_webhook: bool = True, with_owner: bool = False
) -> dict[str, Any]:
    """``with_owner`` adds ``client_id`` (the creating key's id, a JWT's ``jwt:`` subject): an id, not
    a secret, but the API shows it only to callers allowed to know whose the job is (see routes)."""
    summary = job.summary
    doc: dict[str, Any] = {
        "id": job.id,
        "state": job.state,
        "phase": summary.get("phase") if job.state == RUNNING else None,
        "source": job.spec.describe(),
        "progress": _progress(job),
        "counts": summary.get("counts", {}),
        "errors": job.failed,
        "error_samples": summary.get("error_samples", []),
        "skipped": summary.get("skipped", {"count": 0, "items": []}),
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "updated_at": _iso(job.updated_at),
        "links": job_links(job.id, base),
    }
    if with_owner:
        doc["client_id"] = job.client_id
    if with_webhook:
        doc["webhook"] = {"url": job.webhook_url, **summary.get("webhook", {})} if job.webhook_url else None
    return doc
