"""The process-wide decode pixel budget: bombs are decoded one at a time, phone JPEGs never wait
(not even behind a queue of bombs: they have a lane of their own)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from PIL import Image

from capsight.imaging.budget import (
    LanedPixelBudget,
    PixelBudget,
    decode_pixel_budget,
    set_decode_pixel_budget,
)
from capsight.imaging.decode import decode_image


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.005)


class Holder(threading.Thread):
    """Reserves ``pixels`` in its own thread and holds them until ``release`` is set."""

    def __init__(self, budget: PixelBudget | LanedPixelBudget, pixels: int) -> None:
        super().__init__(daemon=True)
        self.budget, self.pixels = budget, pixels
        self.admitted, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        with self.budget.reserve(self.pixels):
            self.admitted.set()
            self.release.wait(30)


def test_reservations_wait_for_room_in_arrival_order() -> None:
    budget = PixelBudget(100)
    first = Holder(budget, 80)
    first.start()
    assert first.admitted.wait(10)
    big = Holder(budget, 50)
    big.start()
    _wait_until(lambda: budget.waiting == 1, "the 50 waits")
    small = Holder(budget, 10)  # would fit beside the 80, but the 50 came first
    small.start()
    _wait_until(lambda: budget.waiting == 2, "the 10 queues behind the 50")
    assert not big.admitted.is_set() and not small.admitted.is_set()
    first.release.set()
    assert big.admitted.wait(10) and small.admitted.wait(10)
    assert budget.used == 60
    big.release.set()
    small.release.set()
    big.join(10)
    small.join(10)
    assert budget.used == 0


def test_a_reservation_larger_than_the_budget_runs_alone() -> None:
    budget = PixelBudget(100)
    small = Holder(budget, 1)
    small.start()
    assert small.admitted.wait(10)
    huge = Holder(budget, 10_000)
    huge.start()
    _wait_until(lambda: budget.waiting == 1, "the huge one waits for the small one")
    small.release.set()
    assert huge.admitted.wait(10)
    assert budget.used == 100
    huge.release.set()
    huge.join(10)
    assert budget.used == 0


def test_small_decodes_have_a_lane_no_queue_of_large_ones_can_block() -> None:
    """The burst that made a phone photo wait 12-16 s: the large lane is full and two more large
    decodes queue for it; a small decode still starts at once, in its own quarter of the budget."""
    budget = LanedPixelBudget(1000)
    assert budget.small_lane is not None and budget.small_lane.capacity == 250
    running = Holder(budget, 5000)  # a bomb: capped at the large lane's 750, runs alone in it
    running.start()
    assert running.admitted.wait(10)
    queued = [Holder(budget, 400), Holder(budget, 300)]
    for holder in queued:
        holder.start()
    _wait_until(lambda: budget.waiting == 2, "two large ones queue behind the bomb")
    small = Holder(budget, 200)
    small.start()
    assert small.admitted.wait(10), "a small decode waited behind large ones"
    assert budget.used == 950 and budget.waiting == 2
    for holder in (running, small, *queued):
        holder.release.set()
    for holder in (running, small, *queued):
        holder.join(10)
    assert budget.used == 0 and budget.waiting == 0


def test_the_two_lanes_together_never_hold_more_than_the_budget() -> None:
    """Memory is what the budget protects: a full small lane and a full large lane are the whole
    budget, and one more small decode waits for a small one to finish, first come, first served."""
    budget = LanedPixelBudget(1000)
    holders = [Holder(budget, 750), Holder(budget, 250)]
    for holder in holders:
        holder.start()
        assert holder.admitted.wait(10)
    assert budget.used == 1000
    late = Holder(budget, 1)
    late.start()
    _wait_until(lambda: budget.waiting == 1, "a small decode waits for room in its lane")
    assert not late.admitted.is_set()
    holders[1].release.set()  # the small one ends: the late one fits
    assert late.admitted.wait(10)
    for holder in (holders[0], late):
        holder.release.set()
    for holder in (*holders, late):
        holder.join(10)
    assert budget.used == 0


def test_a_budget_too_small_to_split_is_one_lane() -> None:
    budget = LanedPixelBudget(3)
    assert budget.small_lane is None and budget.large_lane.capacity == 3


def test_a_budget_needs_a_positive_capacity() -> None:
    with pytest.raises(ValueError):
        PixelBudget(0)
    with pytest.raises(ValueError):
        LanedPixelBudget(0)


@pytest.fixture
def budget() -> Iterator[LanedPixelBudget]:
    set_decode_pixel_budget(1_000_000)
    current = decode_pixel_budget()
    assert current is not None
    try:
        yield current
    finally:
        set_decode_pixel_budget(0)


def _encoded(fmt: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 20)).save(out, fmt)
    return out.getvalue()


def _decode_in_thread(data: bytes, done: threading.Event) -> threading.Thread:
    def run() -> None:
        decode_image(data, min_side=160)
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _decode_beside(budget: LanedPixelBudget, held: int, data: bytes) -> bool:
    """Decode ``data`` while another reservation holds ``held`` pixels of the budget; True when the
    decode had to wait for it (it then finishes once the holder lets go), False when it ran at once."""
    holder = Holder(budget, held)
    holder.start()
    assert holder.admitted.wait(10)
    done = threading.Event()
    thread = _decode_in_thread(data, done)
    _wait_until(lambda: budget.waiting == 1 or done.is_set(), "the decode waits or ends")
    waited = budget.waiting == 1 and not done.is_set()
    holder.release.set()
    assert done.wait(10)
    thread.join(10)
    holder.join(10)
    assert budget.used == 0 and budget.waiting == 0
    return waited


def test_a_large_decode_waits_for_room_in_the_budget(budget: LanedPixelBudget) -> None:
    """A 1-megapixel PNG needs 1 MP of the budget: it waits while most of it is taken."""
    assert _decode_beside(budget, 800_000, _encoded("PNG", (1000, 1000)))


def test_a_jpeg_reserves_only_the_pixels_it_decodes(budget: LanedPixelBudget) -> None:
    """12 MP in the header, decoded at 1/8 scale (500x375) for a 160 px model: 0.19 MP of the
    budget, which fits beside a holder of 0.8 MP, so a phone photo does not wait behind a bomb."""
    assert not _decode_beside(budget, 800_000, _encoded("JPEG", (4000, 3000)))


def test_a_transparent_png_reserves_the_memory_its_conversion_holds(budget: LanedPixelBudget) -> None:
    """A 300x300 RGBA PNG is 0.09 MP, but it is made RGB through five full-size 4-byte buffers: it
    reserves as much as 0.45 MP of RGB, so it waits while 0.7 MP of the 1 MP budget is taken."""
    out = io.BytesIO()
    Image.new("RGBA", (300, 300), (200, 60, 20, 128)).save(out, "PNG")
    assert _decode_beside(budget, 700_000, out.getvalue())


def test_a_plain_rgb_png_reserves_its_pixels_only(budget: LanedPixelBudget) -> None:
    """The weighting leaves RGB as it was: 0.09 MP fits beside 0.7 MP at once."""
    assert not _decode_beside(budget, 700_000, _encoded("PNG", (300, 300)))


def test_an_image_turned_by_its_exif_reserves_the_turned_copy_too(budget: LanedPixelBudget) -> None:
    """A 500x500 RGB PNG whose EXIF says "turn it" holds the decoded and the turned copy at once:
    0.5 MP of RGB, which does not fit beside 0.7 MP (its 0.25 MP of pixels alone would)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (500, 500), (200, 60, 20)).save(out, "PNG", exif=exif.tobytes())
    assert _decode_beside(budget, 700_000, out.getvalue())
    assert not _decode_beside(budget, 700_000, _encoded("PNG", (500, 500)))  # the same without EXIF
