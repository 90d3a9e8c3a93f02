"""What ``POST /v1/jobs`` asks for, turned into a checked ``JobSpec`` before anything is stored.

Why a module of its own: every refusal a job can meet at creation (a body too large, bad JSON, a
URL, S3 prefix or webhook host not on the allowlist, a zip that is not a zip or claims too much)
happens here, before the job has a row; the route only dispatches on the content type and stores
what comes back. A zip upload that fails a check leaves no folder behind.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from capsight.api.json_body import json_error, json_kind, json_text, read_json_body, repeated_key
from capsight.api.json_budget import JsonBudget, json_budget_refusal
from capsight.api.sizes import human_bytes
from capsight.batch.objects import is_s3, split_s3
from capsight.errors import BadRequest, ServiceUnavailable, TooManyImages
from capsight.jobs.archive import inspect_zip
from capsight.jobs.diskfull import is_disk_full
from capsight.jobs.execution import zip_limits
from capsight.jobs.manager import JobManager
from capsight.jobs.schemas import JobCreate
from capsight.jobs.upload import UploadDiskFull, receive_zip
from capsight.jobs.urltext import without_credentials
from capsight.jobs.values import JobSpec
from capsight.store import jsontext

MAX_JSON_BYTES = 16 * 1024 * 1024
OFF_LOOP_JSON_BYTES = 4096  # above: parsed and checked in a thread (json_job); below: ~1 ms at most
MAX_WEBHOOK_URL = 2000
URL_ALLOWLIST = "CAPSIGHT_JOB_URL_ALLOWLIST"  # where image hosts and S3 prefixes are allowed
QUEUE_FULL_RETRY_S = 30.0  # a queued job takes seconds to minutes: asking again at once is no use


@dataclass(frozen=True)
class NewJob:
    spec: JobSpec
    webhook_url: str | None
    total: int  # images known at creation (0 for an S3 prefix: listed when the job runs)
    summary: dict[str, Any] = field(default_factory=dict)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def check_queue(manager: JobManager) -> None:
    """503 while ``max_queued_jobs`` wait: checked before the body is read, so a refused client has
    not uploaded its zip first, and the queue (each zip job's upload on the data disk) stays bounded."""
    limit = manager.settings.max_queued_jobs
    if limit and manager.store.count_queued() >= limit:
        raise ServiceUnavailable(
            f"The job queue is full ({limit} jobs waiting); retry later.", retry_after=QUEUE_FULL_RETRY_S
        )


def check_zip_runs_here(manager: JobManager) -> None:
    """503 for a zip sent to a node that runs no jobs while other nodes do, before the body is read.

    Why: a zip job runs only on the node holding its upload. Accepted by a process with
    ``job_workers = 0`` on a node where no process has workers (an API-only replica), it stayed
    queued for ever: the workers of other nodes may not take it, and this node, recording no
    heartbeat, is never judged gone. With no heartbeat anywhere (one server, replicas of an earlier
    release) nothing says the zip cannot run here later, so it is accepted as before."""
    if manager.settings.job_workers > 0:
        return
    alive = manager.shared.nodes_alive()
    if alive and manager.node not in alive:
        raise ServiceUnavailable(
            "This server runs no job workers (CAPSIGHT_JOB_WORKERS=0), nor does any process sharing its "
            "data_dir, and a zip job runs only where its upload is kept: send the zip to a server that "
            "runs jobs, or send image URLs.",
            retry_after=QUEUE_FULL_RETRY_S,
        )


def _check_webhook(manager: JobManager, url: str | None) -> str | None:
    """The URL to store, stripped: the allowlist checks it stripped, and httpx would read one with a
    leading space as a relative URL (every delivery failed) and a trailing one as part of the path."""
    url = (url or "").strip()
    if not url:
        return None
    if len(url) > MAX_WEBHOOK_URL:
        raise BadRequest(f"webhook_url is longer than {MAX_WEBHOOK_URL} characters.")
    if manager.settings.webhook_secret is None:
        raise BadRequest("Webhooks are not enabled on this server (CAPSIGHT_WEBHOOK_SECRET is unset).")
    if not manager.webhook_allowlist:
        raise BadRequest(
            "webhook_url is refused: no webhook hosts are allow-listed (CAPSIGHT_WEBHOOK_ALLOWLIST)."
        )
    refusal = manager.webhook_allowlist.refusal(url)
    if refusal is not None:
        raise BadRequest(f"webhook_url is refused: {refusal}.")
    return url


def _refuse_unknown_fields(value: Any) -> None:
    """Named here, five at most: pydantic made an error of each, and a body of a million keys was
    seconds of CPU and a 400 many megabytes long."""
    if not isinstance(value, dict):
        return
    unknown = [key for key in value if key not in JobCreate.model_fields]
    if unknown:
        shown = ", ".join(repr(key[:100]) for key in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise BadRequest(
            f"Invalid job request: unknown field {shown}{more}; send 'urls' or 's3_prefix', "
            "and optionally 'webhook_url'."
        )


JSON_JOB = '{"urls": [...]} or {"s3_prefix": ...}'


def _parse_json(body: bytes) -> JobCreate:
    if not body.strip():
        raise BadRequest(f"Invalid job request: the body is empty; send a JSON object, {JSON_JOB}.")
    try:
        value = jsontext.loads(json_text(body), unique_keys=True)  # 16 MB parsed whole held the GIL ~20 ms
    except jsontext.DuplicateKey as exc:
        raise repeated_key(exc) from exc
    except ValueError as exc:
        raise BadRequest(f"Invalid JSON: {json_error(exc)}") from exc
    except RecursionError as exc:  # a few KB of "[[[[..." nests deeper than the parser's stack
        raise BadRequest("Invalid JSON: nested too deeply.") from exc
    if not isinstance(value, dict):  # pydantic said "a valid dictionary or instance of JobCreate"
        kind = json_kind(value)
        raise BadRequest(f"Invalid job request: the body is {kind}; send a JSON object, {JSON_JOB}.")
    _refuse_unknown_fields(value)
    try:
        return JobCreate.model_validate(value)  # urls fails fast: a few errors at most, not millions
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"Invalid job request: {problems}") from exc


def _check_urls(manager: JobManager, urls: list[str]) -> tuple[str, ...]:
    if not urls:
        raise BadRequest("urls is empty.")
    unique = tuple(dict.fromkeys(u.strip() for u in urls))
    if len(unique) > manager.settings.max_job_images:
        raise TooManyImages(f"Too many URLs: at most {manager.settings.max_job_images} per job.")
    if not manager.url_allowlist:
        raise BadRequest(f"URL jobs are disabled: no hosts are allow-listed ({URL_ALLOWLIST}).")
    for url in unique:
        refusal = manager.url_allowlist.refusal(url)
        if refusal is not None:
            raise BadRequest(f"URL {without_credentials(url)[:200]!r} is refused: {refusal}.")
    return unique


def _check_s3(manager: JobManager, prefix: str) -> str:
    if not is_s3(prefix):
        raise BadRequest("s3_prefix must look like s3://bucket/prefix.")
    if not prefix.isprintable():
        # A failed listing logs the prefix: "\n" forged log lines, ESC reached the operator's terminal.
        raise BadRequest("s3_prefix with line breaks, control or invisible characters is refused.")
    split_s3(prefix)  # BadRequest when it names no bucket
    # Both name the setting, as a refused URL job does: S3 prefixes share the URL hosts' list.
    if not manager.url_allowlist.lists_s3:
        raise BadRequest(f"S3 jobs are disabled: no s3:// prefixes are allow-listed ({URL_ALLOWLIST}).")
    if not manager.url_allowlist.allows_s3(prefix):
        raise BadRequest(
            f"s3_prefix {prefix[:200]!r} is refused: it is not under an allow-listed s3:// prefix "
            f"({URL_ALLOWLIST})."
        )
    return manager.url_allowlist.s3_listing_prefix(prefix)


async def zip_job(request: Request, manager: JobManager, job_id: str) -> NewJob:
    """A multipart zip upload, streamed to the job's folder and checked against the limits and this
    replica's disk budget for job files; the folder (and its reservation) goes on any error."""
    settings = manager.settings
    paths = manager.paths(job_id)
    try:
        paths.root.mkdir(parents=True, exist_ok=False)
    except OSError as exc:  # a read-only or full data disk: the server's trouble, not the client's
        raise ServiceUnavailable(
            f"Cannot keep the upload: the job folder cannot be created ({exc.strerror or exc}).",
            retry_after=30,
        ) from exc
    budget = manager.disk_budget
    try:
        # Before the body is read: the declared length (the zip plus a little multipart framing)
        # must fit this replica's disk budget for job files; a chunked body is checked as it streams.
        reserved = 0
        declared = request.headers.get("content-length", "")
        if declared.isdigit():
            reserved = await asyncio.to_thread(budget.reserve, paths.root, int(declared), "the upload")
        received = await receive_zip(
            request, paths.upload, settings.max_job_upload_bytes, budget if budget.enabled else None, reserved
        )
        webhook = _check_webhook(manager, received.fields.get("webhook_url"))
        plan = await asyncio.to_thread(inspect_zip, paths.upload, zip_limits(settings))
        # The peak, held while the job waits: the upload and its images side by side during
        # extraction. Reserved now, so a queued job always has room when its turn comes.
        await asyncio.to_thread(
            budget.reserve,
            paths.root,
            received.size + plan.total_bytes,
            f"the {received.size}-byte upload and the {plan.total_bytes} bytes of images it inflates to",
        )
    except OSError as exc:  # the budget's own small files on a disk that is full anyway
        shutil.rmtree(paths.root, ignore_errors=True)
        if is_disk_full(exc):
            raise UploadDiskFull() from exc
        raise
    except BaseException:
        shutil.rmtree(paths.root, ignore_errors=True)
        raise
    spec = JobSpec(kind="zip", upload_bytes=received.size, node=manager.node, base_url=base_url(request))
    skipped = {"count": len(plan.skipped), "items": [s.to_dict() for s in plan.skipped[:50]]}
    return NewJob(spec, webhook, len(plan.members), {"skipped": skipped})


def _checked_json_job(manager: JobManager, body: bytes, base: str) -> NewJob:
    most = manager.settings.max_job_images
    refusal = json_budget_refusal(body, JsonBudget.for_job_images(most))
    if refusal is not None:  # parsing it would hold the GIL, and so every other request, too long
        raise TooManyImages(f"Invalid job request: {refusal}; a job takes at most {most} URLs.")
    body_in = _parse_json(body)
    if (body_in.urls is None) == (body_in.s3_prefix is None):
        raise BadRequest("Send exactly one of 'urls' and 's3_prefix'.")
    webhook = _check_webhook(manager, body_in.webhook_url)
    if body_in.urls is not None:
        urls = _check_urls(manager, body_in.urls)
        return NewJob(JobSpec(kind="urls", urls=urls, node=manager.node, base_url=base), webhook, len(urls))
    assert body_in.s3_prefix is not None
    prefix = _check_s3(manager, body_in.s3_prefix)
    return NewJob(JobSpec(kind="s3", s3_prefix=prefix, node=manager.node, base_url=base), webhook, 0)


async def json_job(request: Request, manager: JobManager) -> NewJob:
    """JSON ``{"urls": [...]}`` or ``{"s3_prefix": ...}``, each checked against the allowlist.

    A big body is parsed and checked in a thread: 16 MB of 100,000 URLs (max_job_images) held the
    event loop 1.3 s, every other request (health checks, /classify) waiting behind it, and 64 KiB
    of short URLs 23 ms. One of a few URLs or an S3 prefix stays on the loop: a thread hop would
    cost more than its checks."""
    body = await read_json_body(
        request, MAX_JSON_BYTES, f"JSON body too large: the limit is {human_bytes(MAX_JSON_BYTES)}."
    )
    check = functools.partial(_checked_json_job, manager, body, base_url(request))
    if len(body) < OFF_LOOP_JSON_BYTES:
        return check()
    return await asyncio.to_thread(check)
