"""What a job is, as plain frozen values: its states, what it classifies, and a snapshot of a row.

The database row is the durable truth; these values are what the store hands to the worker and the
API, so neither needs SQLAlchemy to read a job.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})

SourceKind = Literal["zip", "urls", "s3"]
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def new_job_id() -> str:
    return uuid.uuid4().hex


def pinned_node(params: dict[str, Any] | None) -> str | None:
    """The node a job must run on: only a zip job's, whose upload is on that node's disk.

    URL and S3 jobs were created with the accepting node too (and rows of earlier releases keep it),
    but they read nothing from its disk; pinning them left them queued behind an API-only replica,
    and a node that was gone failed them with "upload the zip again".
    """
    params = params or {}
    return params.get("node") if params.get("kind") == "zip" else None


def is_job_id(value: str) -> bool:
    """Ids name folders under data_dir/jobs: only our own hex ids ever reach the file system."""
    return bool(_JOB_ID.match(value))


@dataclass(frozen=True)
class JobSpec:
    """What to classify, and the facts about the request the worker needs later.

    ``node`` pins zip jobs to the server holding the upload (data_dir is per replica); URL and S3 jobs
    have no node and run wherever a worker is free. ``base_url`` is where the client reached us, so the
    webhook can carry absolute links.
    """

    kind: SourceKind
    urls: tuple[str, ...] = ()
    s3_prefix: str | None = None
    upload_bytes: int | None = None
    node: str | None = None
    base_url: str = ""
    # The list's length when it was not read (a job's status and the job list show only that):
    # such a spec is for showing, never for running.
    url_count: int | None = None

    def to_params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "urls": list(self.urls),
            "s3_prefix": self.s3_prefix,
            "upload_bytes": self.upload_bytes,
            "node": self.node,
            "base_url": self.base_url,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> JobSpec:
        return cls(
            kind=params["kind"],
            urls=tuple(params.get("urls") or ()),
            s3_prefix=params.get("s3_prefix"),
            upload_bytes=params.get("upload_bytes"),
            node=params.get("node"),
            base_url=params.get("base_url") or "",
        )

    def describe(self) -> dict[str, Any]:
        """The source as the API shows it: a URL list is summarised, never echoed whole."""
        if self.kind == "urls":
            return {"kind": "urls", "count": len(self.urls) if self.url_count is None else self.url_count}
        if self.kind == "s3":
            return {"kind": "s3", "prefix": self.s3_prefix}
        return {"kind": "zip", "bytes": self.upload_bytes}


@dataclass(frozen=True)
class JobInfo:
    id: str
    state: str
    client_id: str | None
    spec: JobSpec
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    total: int = 0
    done: int = 0
    failed: int = 0
    webhook_url: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    runner: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True)
class Progress:
    """One heartbeat's worth of facts from the worker."""

    done: int
    total: int
    failed: int
    summary: dict[str, Any] = field(default_factory=dict)  # keys merged into the row's summary
