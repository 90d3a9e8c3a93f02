"""A process-wide cap on the pixels being decoded at once.

Why: the pixel limit (``max_pixels``) stops one decompression bomb, not several. A 50-megapixel PNG
of a flat colour is 160 KB on the wire and about 200 MB once decoded (Pillow keeps RGB as four
bytes a pixel), so two such uploads decoded side by side took a 170 MB server to 544 MB, and a few
more would get a pod with a 512 MiB limit killed, with every request in it. Decodes that would go
past the budget wait for the ones in progress, first come first served.

Two lanes, because one queue let a burst of bombs hold up everyone: a phone JPEG (decoded at 1/4
scale, about 0.13 megapixels) that arrived behind 16 transparent 49-megapixel PNGs waited 12-16 s
for them. A quarter of the budget is kept for small decodes (up to that quarter each), the rest
takes the large ones; each lane serves its own queue in arrival order, and the two together never
hold more than the budget. A large decode now waits for other large ones only, and a small one for
small ones only.

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


class LanedPixelBudget:
    """``capacity`` split into a lane for small decodes (a quarter) and one for large ones (the rest).

    A request of at most the small lane's size goes to the small lane; anything larger goes to the
    large lane, capped at that lane's size (a bomb larger than the lane runs alone in it, as it ran
    alone in the whole budget before). Both lanes are first come, first served. A capacity too small
    to split (under 4) is one lane.
    """

    SMALL_SHARE = 4  # the small lane is capacity // SMALL_SHARE

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be > 0")
        self.capacity = capacity
        small = capacity // self.SMALL_SHARE
        self.small_lane: PixelBudget | None = PixelBudget(small) if small > 0 else None
        self.large_lane = PixelBudget(capacity - small)

    @property
    def used(self) -> int:
        return self.large_lane.used + (self.small_lane.used if self.small_lane else 0)

    @property
    def waiting(self) -> int:
        return self.large_lane.waiting + (self.small_lane.waiting if self.small_lane else 0)

    def lane_for(self, pixels: int) -> PixelBudget:
        if self.small_lane is not None and pixels <= self.small_lane.capacity:
            return self.small_lane
        return self.large_lane

    @contextlib.contextmanager
    def reserve(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the lane they belong to for the duration of the block."""
        with self.lane_for(pixels).reserve(pixels):
            yield


_budget: LanedPixelBudget | None = None


def set_decode_pixel_budget(pixels: int) -> None:
    """Cap the pixels decoded at once in this process (0: no cap). Called once by serving."""
    global _budget
    _budget = LanedPixelBudget(pixels) if pixels > 0 else None


def decode_pixel_budget() -> LanedPixelBudget | None:
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
