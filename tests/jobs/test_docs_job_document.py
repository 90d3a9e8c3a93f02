"""docs/jobs.md's example job document ("Follow") has the fields ``GET /v1/jobs/{id}`` answers.

Its ``webhook`` object showed url, state, attempts and status_code, while every job with a webhook
also carries ``last_error`` (why the last attempt failed: the field to read when state is
``failed``) and ``at``; a client written from the example knew of neither.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsight.jobs.render import job_document
from capsight.jobs.values import JobInfo, JobSpec
from capsight.jobs.webhook import Delivery

JOBS_MD = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"


def _example() -> dict[str, Any]:
    follow = JOBS_MD.read_text().split("\n## Follow\n", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", follow, flags=re.DOTALL)
    assert block is not None
    return json.loads(block.group(1))


def _served() -> dict[str, Any]:
    """A running zip job whose webhook was delivered, rendered as the API renders it."""
    now = datetime.now(UTC)
    job = JobInfo(
        id="0" * 32,
        state="running",
        client_id=None,
        spec=JobSpec(kind="zip", upload_bytes=1234567),
        created_at=now,
        updated_at=now,
        started_at=now,
        total=500,
        done=120,
        failed=2,
        webhook_url="https://hooks.example.com/capsight",
        summary={
            "phase": "classifying",
            "counts": {"background": 30, "closed": 50, "opened": 38},
            "webhook": Delivery(delivered=True, attempts=2, status_code=200).to_summary(),
        },
    )
    return job_document(job, "http://host:8000")


def test_the_example_job_has_the_served_fields() -> None:
    example, served = _example(), _served()
    assert sorted(example) == sorted(served)
    for part in ("source", "progress", "skipped", "links", "webhook"):
        assert sorted(example[part]) == sorted(served[part]), part
