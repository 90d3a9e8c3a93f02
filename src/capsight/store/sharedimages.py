"""One copy per distinct image among the request-log records waiting in memory.

Why: every request hands the recorder its own copy of the upload, so a burst of the same photo (cache
hits: ~700 req/s of one 600 KB upload) filled the 64 MiB queue with ~110 copies of it and sent every
record past those to the spool. Keyed by the record's sha256, a copy is held once and counted once
against the memory budget, until the last record carrying it has left.

Not thread-safe: the queue and the overflow each call it under their own lock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Held:
    data: bytes
    refs: int  # records waiting (or being written) that carry these bytes


class SharedImages:
    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}
        self.bytes = 0  # of the distinct images held

    def hold(self, sha: str, image: bytes, max_bytes: int, *, one_always_fits: bool = False) -> bytes | None:
        """The copy a record should carry: the one already held (costs nothing more), else ``image``
        if it fits in ``max_bytes`` (or nothing is held and ``one_always_fits``); None if it does not."""
        held = self._held.get(sha)
        if held is not None:
            held.refs += 1
            return held.data
        if self.bytes + len(image) > max_bytes and not (one_always_fits and not self._held):
            return None
        self._held[sha] = _Held(image, 1)
        self.bytes += len(image)
        return image

    def release(self, sha: str | None, image: bytes | None) -> None:
        """A record carrying ``image`` has left memory (written, spooled or handed on)."""
        if image is None or sha is None:
            return
        held = self._held.get(sha)
        if held is not None and held.data is image:
            held.refs -= 1
            if held.refs == 0:
                del self._held[sha]
                self.bytes -= len(image)
