"""The ``before`` cursor of ``GET /v1/jobs``: a job's id and its creation time, ``<id>.<microseconds>``.

Why the time too: the listing is ordered by (created_at, id), newest first, and a cursor of the id
alone was read by looking its job up for its time. When the retention purged that job between two
page requests, the next page was 400 'names no job' and a client paging through the list could not
go on. With the time in the cursor the position needs no row; a bare id (cursors of earlier
releases, or typed by hand) is still looked up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from capsight.jobs.values import JobInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^([0-9a-f]{32})(?:\.([0-9]{1,17}))?$")  # 17 digits: any time to year 5138


def cursor_of(job: JobInfo) -> str:
    """The cursor of the page after ``job``."""
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
    return f"{job.id}.{(created - _EPOCH) // timedelta(microseconds=1)}"


def read_cursor(before: str) -> tuple[str, datetime | None] | None:
    """The job id and creation time a cursor names (no time for a bare id), or None for any other text."""
    match = _CURSOR.match(before)
    if match is None:
        return None
    job_id, micros = match.groups()
    if micros is None:
        return job_id, None
    try:
        return job_id, _EPOCH + timedelta(microseconds=int(micros))
    except OverflowError:
        return None
