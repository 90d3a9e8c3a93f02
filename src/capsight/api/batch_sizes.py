"""How many images the batch requests this server answered had, until the request log holds them.

Why: the log is written in the background (a batch every 100 ms, or from the spool after an
outage), so feedback sent right after a batch's answer may find no row yet, and an ``index`` the
batch never had (a client's typo) could not be told from one not logged yet: it was answered 202 and
counted unmatched at export. The log keeps the size too (``requests.item_count``), for feedback that
reaches another worker or replica once it is written; this covers the moments before.

Bounded: the newest answers are kept, the oldest forgotten (their rows are long written by then).
Used from the event loop only.
"""

from __future__ import annotations

from collections import OrderedDict

KEPT_BATCHES = 10_000  # a few hundred KB; minutes of batches at a busy server's rate


class BatchSizes:
    def __init__(self, limit: int = KEPT_BATCHES) -> None:
        self._limit = limit
        self._sizes: OrderedDict[str, tuple[str, int]] = OrderedDict()  # log id: (client id, size)

    def note(self, log_id: str, client_id: str, count: int) -> None:
        """``log_id``: the server's own id of the request (what the log is keyed by)."""
        self._sizes[log_id] = (client_id, count)
        self._sizes.move_to_end(log_id)
        while len(self._sizes) > self._limit:
            self._sizes.popitem(last=False)

    def size_of(self, log_id: str, client_id: str, *, any_client: bool) -> int | None:
        """The batch's size, told only to whom the log would show it: its client (or an admin)."""
        kept = self._sizes.get(log_id)
        if kept is None or not (any_client or kept[0] == client_id):
            return None
        return kept[1]

    def clear(self) -> None:
        self._sizes.clear()
