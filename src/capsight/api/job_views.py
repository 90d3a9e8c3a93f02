"""What the jobs routes show: a job document with its owner only for those allowed to know it, and
whose jobs a listing may show. (Query parameters given more than once: api/query_checks.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from capsight.api.job_requests import base_url
from capsight.errors import BadRequest, InsufficientScope
from capsight.jobs.render import job_document
from capsight.jobs.values import JobInfo
from capsight.store.protocols import Principal


def visible(job: JobInfo, principal: Principal) -> bool:
    """Whether ``principal`` may see ``job``: its owner, an admin, or anyone when auth is off."""
    return principal.anonymous or principal.allows("admin") or job.client_id == principal.id


def shown(job: JobInfo, request: Request, principal: Principal) -> dict[str, Any]:
    """The owner's id goes to admins and to the owner itself, never to anonymous callers: with auth
    off every caller sees every job, and the id there is another client's IP address."""
    owner = not principal.anonymous and (principal.allows("admin") or job.client_id == principal.id)
    return job_document(job, base_url(request), with_owner=owner)


def listed_owner(principal: Principal, client_id: str | None) -> str | None:
    """Whose jobs a listing may show: any client's for admins and anonymous callers (auth off, where
    every caller sees every job), the caller's own for any other key. Another client's id is a 403
    rather than the caller's own jobs: a script asking for bob's jobs must not read alice's as his.
    That 403 is a missing admin scope, so it carries the ``insufficient_scope`` challenge naming it
    (a client then asks for that scope instead of re-authenticating with the same key)."""
    if client_id is not None and not client_id.strip():
        # No client's id is blank (keys, JWT subjects and anonymous callers all have one): an empty
        # value is a script's unset variable, and answering "no jobs" hid that.
        raise BadRequest("client_id is empty: give a client's id, or leave client_id out.")
    if principal.anonymous or principal.allows("admin"):
        return client_id
    if client_id is not None and client_id != principal.id:
        raise InsufficientScope(
            "Only admins list other clients' jobs: leave client_id out to list your own.",
            scope="admin",
        )
    return principal.id
