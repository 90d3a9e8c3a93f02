"""HTTP shapes of the jobs API (pydantic at the edge only): the JSON request, and the documents
``render.job_document`` builds, described for /docs and checked by the contract tests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobCreate(BaseModel):
    """Exactly one of ``urls`` and ``s3_prefix``. A zip is sent as multipart instead (field ``file``,
    optional form field ``webhook_url``)."""

    model_config = ConfigDict(extra="forbid")

    # fail_fast: 16 MB of numbers was 8 million errors, built and joined into the 400 (2 s of CPU)
    urls: list[str] | None = Field(
        default=None, fail_fast=True, description="Image URLs on allow-listed hosts."
    )
    s3_prefix: str | None = Field(default=None, description="s3://bucket/prefix under an allow-listed one.")
    webhook_url: str | None = Field(default=None, description="POSTed a signed JSON body when the job ends.")


class ProgressOut(BaseModel):
    done: int
    total: int = Field(description="Images to classify; 0 for an S3 job until its prefix is listed.")
    downloaded: int | None = Field(
        default=None,
        description="Only while a URL job downloads (phase preparing): URLs fetched (or failed) so far.",
    )


class SkippedOut(BaseModel):
    count: int
    items: list[dict[str, str]] = Field(description="Up to 50 of {name, reason}.")


class JobLinks(BaseModel):
    self: str
    results_csv: str
    results_jsonl: str


class JobOut(BaseModel):
    id: str
    state: str = Field(description="queued, running, succeeded, failed or cancelled.")
    phase: str | None = Field(description="While running: preparing (extract/download) or classifying.")
    source: dict[str, Any]
    progress: ProgressOut
    counts: dict[str, int] = Field(description="Images per predicted label so far.")
    errors: int = Field(description="Images that could not be classified (one error row each).")
    error_samples: list[dict[str, str]] = Field(description="Up to 10 of {path, error}.")
    skipped: SkippedOut = Field(description="Zip members that were not images or not safe to extract.")
    error: str | None = Field(description="Why the job failed, when it did.")
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    links: JobLinks
    webhook: dict[str, Any] | None = Field(
        default=None, description="Delivery state: pending, delivered or failed; attempts; last status."
    )
    client_id: str | None = Field(
        default=None,
        description=(
            "The id of the key (or 'jwt:<subject>') that created the job: shown to admins, and to a "
            "key's holder for its own jobs; absent when auth is off."
        ),
    )


class JobListOut(BaseModel):
    jobs: list[JobOut]
    next: str | None = Field(
        description="The next page (the same query, 'before' the last job here) when this one is full."
    )
