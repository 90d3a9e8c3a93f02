"""A process-wide cap on the pixels being decoded at once.

Why: the pixel limit (``max_pixels``) stops one decompression bomb, not several. A 50-megapixel PNG
of a flat colour is 160 KB on the wire and about 200 MB once decoded (Pillow keeps RGB as four
bytes a pixel), so two such uploads decoded side by side took a 170 MB server to 544 MB, and a few
more would get a pod with a 512 MiB limit killed, with every request in it. Decodes that would go
past the budget wait for the ones in progress, first come first served: a normal phone JPEG
(decoded at 1/4 scale, about 0.13 megapixels) fits beside any other decode, and the bombs are
decoded one at a time. A JPEG that arrives behind a queue of waiting bombs still waits its turn
(measured: 12-16 s behind 16 transparent 49-megapixel PNGs), as there is no fast lane for small decodes.

Process-wide because memory is: every decoder in the process (request threads, job workers) shares
one budget. Off until :func:`set_decode_pixel_budget` is called, which serving does at start-up;
training and the CLI decode one image per thread and need none.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator


class PixelBudget:
    """Counts reserved pixels against ``capacity``; waiters are served strictly in arrival order.

    First come, first served, so a large image cannot be starved by a stream of small ones that
    always fit beside each other. A request larger than the whole budget runs alone.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        self.capacity = capacity
        self._used = 0
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()

    @property
    def used(self) -> int:
        with self._cond:
            return self._used

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    @contextlib.contextmanager
    def reserve(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` (capped at the capacity) of the budget for the duration of the block."""
        amount = max(0, min(pixels, self.capacity))
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while self._queue[0] is not ticket or self._used + amount > self.capacity:
                self._cond.wait()
            self._queue.popleft()
            self._used += amount
            self._cond.notify_all()  # the next in line may fit too
        try:
            yield
        finally:
            with self._cond:
                self._used -= amount
                self._cond.notify_all()


_budget: PixelBudget | None = None


def set_decode_pixel_budget(pixels: int) -> None:
    """Cap the pixels decoded at once in this process (0: no cap). Called once by serving."""
    global _budget
    _budget = PixelBudget(pixels) if pixels > 0 else None


def decode_pixel_budget() -> PixelBudget | None:
    return _budget


@contextlib.contextmanager
def decoding(pixels: int) -> Iterator[None]:
    """Reserve ``pixels`` of the process's budget, if one is set, while an image is decoded."""
    budget = _budget
    if budget is None:
        yield
        return
    with budget.reserve(pixels):
        yield
