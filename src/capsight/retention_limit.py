"""The longest window capsight keeps its request log for: one check for ``CAPSIGHT_RETENTION_DAYS``
and ``capsight db purge --older-than-days``.

Why one check: the purge option was capped at 36,500 days while the setting it defaults to took any
number, so ``CAPSIGHT_RETENTION_DAYS=50000`` ran the server's hourly purge while the same window
given to the purge by hand was refused. Why 999,999,999 days, the most a ``timedelta`` holds: a
window past about 739,000 days reaches before year 1 and is read as "keep everything", which
operators set on purpose (``CAPSIGHT_RETENTION_DAYS=1000000``, kept working by
tests/store/test_hunt_store_purge_huge_days.py) and which a lower cap would now refuse at start-up;
past ``timedelta``'s range (``timedelta(days=1e9)`` raises OverflowError) the number is no window at
all, and is refused naming the limit instead of being read silently as "keep everything".

Light on purpose (no pydantic): the CLI's argument types use it while the parser is built.
"""

from __future__ import annotations

import math
from datetime import timedelta

MAX_RETENTION_DAYS = timedelta.max.days  # 999,999,999


def checked_retention_days(days: float) -> float:
    """``days`` if a finite number from 0 to :data:`MAX_RETENTION_DAYS`; else ValueError saying what
    is taken (the caller shows the value as it was written)."""
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"must be a number of days from 0 to {MAX_RETENTION_DAYS}")
    if days > MAX_RETENTION_DAYS:
        raise ValueError(f"at most {MAX_RETENTION_DAYS} days (the longest span Python's timedelta holds)")
    return days
