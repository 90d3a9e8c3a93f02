"""Whether the answer a feedback names was purged: refused 410 rather than recorded for nothing.

Why: feedback on a purged answer was answered 202 "recorded" and then counted "not matched" at
every export, so a client believed its correction would be trained on. A purged answer and one not
logged yet (the log is written in the background, and from a replica's spool after an outage) look
the same in the database; the server's request ids tell them apart by the time inside them
(``capsight.api.request_ids``), compared with the retention window and with the newest purge mark
(``capsight.store.purge_marks``), which a ``capsight db purge`` by hand also leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capsight.api.request_ids import issued_at
from capsight.errors import Gone
from capsight.jobs.purge import cutoff_of

if TYPE_CHECKING:
    from capsight.store.feedback import FeedbackStore


def refuse_purged(store: FeedbackStore, request_id: str, retention_days: float) -> None:
    """Refuse an id the server issued before the retention window, or before the newest purge (a
    ``capsight db purge`` by hand reaches past the window, and runs with no retention too), that
    names no request the log still holds: purged, so the feedback could never be matched. Only the
    server's own ids carry their time (capsight.api.request_ids); any other is taken as before.

    An id issued after both is taken whether logged or not: the log is written in the background
    (and from a replica's spool after an outage), so "not logged" says nothing of it."""
    issued = issued_at(request_id)
    if issued is None:
        return
    # None: a retention reaching back past year 1 ("keep about for ever"), which purges nothing
    cutoff = cutoff_of(retention_days) if retention_days > 0 else None
    if cutoff is not None and issued < cutoff and not store.logged_since(request_id, cutoff):
        raise Gone(
            f"Request {request_id} was answered on {issued:%Y-%m-%d}, longer ago than this server "
            f"keeps answers and their images (CAPSIGHT_RETENTION_DAYS={retention_days:g}): there is no "
            "answer left to correct; nothing was recorded."
        )
    purged = store.purged_before()
    if purged is not None and issued < purged and not store.logged_since(request_id, None):
        raise Gone(
            f"Request {request_id} is not in the request log: its id was issued at {issued:%Y-%m-%d %H:%M} "
            f"UTC, and the log was purged of every answer before {purged:%Y-%m-%d %H:%M} UTC (capsight db "
            "purge, or the retention purge), so there is no answer left to correct; nothing was recorded."
        )
