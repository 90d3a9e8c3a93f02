"""A row of the ``jobs`` table as the plain :class:`~capsight.jobs.values.JobInfo` the store hands out,
and a run's progress written back into one.

Split from ``store.py``: both halves of the store (the API's side there, the workers' side in
``jobqueue.py``) read and write rows the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capsight.jobs.values import JobInfo, JobSpec, Progress, SourceKind

if TYPE_CHECKING:
    from capsight.store.models import Job


SOURCE = "source"  # the summary's copy of ``JobSpec.describe()``, written when the job is created
BASE_URL = "base_url"  # in ``SOURCE`` too: a webhook's links need it (rows of 2026-11-29 on)


def source_copy(spec: JobSpec) -> dict[str, Any]:
    """What the summary keeps as ``SOURCE``: enough to show the job and build its webhook without
    reading its parameters (a URL job's whole list)."""
    return {**spec.describe(), BASE_URL: spec.base_url}


def has_source(row: Job) -> bool:
    """Whether the row keeps all ``shown_spec`` reads; older rows have their spec read by
    ``spec_columns``."""
    source = (row.summary or {}).get(SOURCE)
    return isinstance(source, dict) and BASE_URL in source


def job_info(row: Job, spec: JobSpec | None = None) -> JobInfo:
    """``spec``: the spec to show (``shown_spec``) when the parameters were not read; otherwise
    the one in ``row.params``, whole."""
    return JobInfo(
        id=row.id,
        state=row.state,
        client_id=row.client_id,
        spec=spec if spec is not None else JobSpec.from_params(row.params or {"kind": "zip"}),
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
        summary={k: v for k, v in (row.summary or {}).items() if k != SOURCE},  # shown as the spec
    )


def apply_progress(row: Job, progress: Progress | None) -> None:
    if progress is None:
        return
    row.done, row.total, row.failed = progress.done, progress.total, progress.failed
    if progress.summary:
        row.summary = {**(row.summary or {}), **progress.summary}


def shown_spec(row: Job, legacy: JobSpec | None) -> JobSpec:
    """A spec for showing the job (never for running it), from the summary's copy of its source:
    no parameters read, so no URL list parsed. ``legacy``: from ``spec_columns``, for a row created
    before that copy was kept."""
    source = (row.summary or {}).get(SOURCE)
    if not isinstance(source, dict) or legacy is not None:
        return legacy or JobSpec(kind="zip")
    kind: SourceKind = source.get("kind") or "zip"
    return JobSpec(
        kind=kind,
        s3_prefix=source.get("prefix"),
        upload_bytes=source.get("bytes"),
        url_count=int(source.get("count") or 0) if kind == "urls" else None,
        base_url=source.get(BASE_URL) or "",
    )


def light_info(row: Job) -> JobInfo:
    """The job of a row loaded without its parameters (``defer(Job.params)``): a URL job's spec
    from its summary, so its list is never read; any other job's (small) parameters are loaded now."""
    return job_info(row, placed_spec(row))


def placed_spec(row: Job) -> JobSpec | None:
    """A URL job's shown spec, which says where it runs (anywhere: ``pinned_node``) without its list;
    None for any other job (its parameters are small: read them, node included) or an older row."""
    source = (row.summary or {}).get(SOURCE)
    return shown_spec(row, None) if isinstance(source, dict) and source.get("kind") == "urls" else None


def spec_columns(dialect: str) -> list[Any]:
    """What the status of a job created before ``SOURCE`` shows of its parameters, computed in the
    database (in C, the GIL free): parsing a URL job's parameters, its whole list (up to 100,000
    URLs, 16 MB of JSON), in Python to show one number made each poll take 64 ms from every other
    request."""
    from sqlalchemy import func

    from capsight.store.models import Job

    if dialect == "postgresql":  # the column is json (not jsonb)
        count = func.json_array_length(Job.params.op("->")("urls"))
    else:  # SQLite's JSON1
        count = func.json_array_length(Job.params, "$.urls")
    return [
        Job.params["kind"].as_string(),
        Job.params["s3_prefix"].as_string(),
        Job.params["upload_bytes"].as_integer(),
        count,
        Job.params["base_url"].as_string(),
    ]


def spec_from_columns(values: Any) -> JobSpec:
    """The :func:`spec_columns` of one row as a spec without its URLs (for showing, not running)."""
    kind, s3_prefix, upload_bytes, count, base_url = values
    return JobSpec(
        kind=kind or "zip",
        s3_prefix=s3_prefix,
        upload_bytes=upload_bytes,
        url_count=(count or 0) if kind == "urls" else None,
        base_url=base_url or "",
    )
