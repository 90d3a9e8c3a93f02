"""What the jobs routes show: a job document with its owner only for those allowed to know it, and
the list's query parameters that may be given once only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from capsight.api.job_requests import base_url
from capsight.errors import BadRequest
from capsight.jobs.render import job_document
from capsight.jobs.values import JobInfo
from capsight.store.protocols import Principal


def shown(job: JobInfo, request: Request, principal: Principal) -> dict[str, Any]:
    """The owner's id goes to admins and to the owner itself, never to anonymous callers: with auth
    off every caller sees every job, and the id there is another client's IP address."""
    owner = not principal.anonymous and (principal.allows("admin") or job.client_id == principal.id)
    return job_document(job, base_url(request), with_owner=owner)


def given_once(*names: str) -> Callable[[Request], None]:
    """A dependency refusing ``names`` given more than once.

    Why: ``?client_id=k1&client_id=k2`` was answered as ``client_id=k2`` (the last value won), so a
    script meaning both read one client's jobs as the whole answer; ``?format=csv&format=jsonl`` got
    JSON lines. A dependency, so that it is answered before the values are validated
    (``limit=10&limit=0`` said "limit must be >= 1")."""

    def check(request: Request) -> None:
        for name in names:
            count = len(request.query_params.getlist(name))
            if count > 1:
                raise BadRequest(f"{name} is given {count} times: give it once.")

    return check
