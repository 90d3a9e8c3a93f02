"""A ``Retry-After`` header read as seconds, for the job's HTTP clients (downloads and webhooks).

Why: a host that throttles (429) or is busy (503) says when to come back, and tries at a fixed 1 or
2 s came back too soon, each failing: an image became an error row, a webhook delivery "failed" for
good. Each caller caps the wait it grants (a wait holds one of its few threads).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None) -> float | None:
    """Delay-seconds or an HTTP date, as seconds from now; None when absent or unreadable."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
