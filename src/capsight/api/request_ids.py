"""The server's own request ids: UUIDv7s (RFC 9562), written as 32 lower-case hex digits.

Why a timestamp in the id: the request log is written in the background and purged after
CAPSIGHT_RETENTION_DAYS, so an id the log does not hold is either not logged yet or purged, and
only the time the id was issued tells which. With random (version 4) ids ``POST /v1/feedback``
accepted corrections of purged answers with 202, and the export counted them "not matched". The
first 48 bits are the Unix time in milliseconds; 74 random bits remain, so ids stay unguessable.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

_UUID7_HEX = re.compile(r"[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}")


def new_request_id() -> str:
    value = ((time.time_ns() // 1_000_000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 0b10 (RFC 9562)
    return f"{value:032x}"


def issued_at(request_id: str) -> datetime | None:
    """When an id of :func:`new_request_id`'s form was issued; None for any other id (a client's
    X-Request-ID, or a random id of the releases before these)."""
    if not _UUID7_HEX.fullmatch(request_id):
        return None
    try:
        return datetime.fromtimestamp(int(request_id[:12], 16) / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999: no time this server issued
        return None
