"""A phone JPEG is never held up by large images waiting to be decoded.

Large PNGs, WebPs and HEIFs are decoded at full size and wait for room in the decode pixel budget;
they used to wait inside the one decode pool, so a burst of them took every pool thread and a JPEG
behind them waited for all of them (22 s behind 16 transparent 49-megapixel PNGs on 2 cores). Here
the budget's large lane is held by the test itself, so the PNGs wait for as long as the test wants:
no timing, only whether the JPEG gets through while they wait.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from helpers import jpeg, make_settings
from PIL import Image

from capsight.imaging.budget import LanedPixelBudget, decode_pixel_budget
from capsight.imaging.cost import decode_cost
from capsight.inference.cpu import default_threads
from live_app import serve

pytestmark = pytest.mark.slow


def _large_png(index: int) -> bytes:
    """A 1000x1000 half-transparent PNG: 5 MP of the budget once weighted (it is made RGB through
    five full-size buffers), more than the small lane's quarter of a 16 MP budget. Distinct bytes
    per index, so the result cache never answers one for another."""
    out = io.BytesIO()
    Image.new("RGBA", (1000, 1000), (index % 256, 90, 200, 128)).save(out, "PNG")
    return out.getvalue()


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.01)


def test_a_jpeg_is_answered_while_large_pngs_wait_for_the_decode_budget(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(colour_model_dir, tmp_path, decode_max_inflight_pixels=16_000_000)
    png_count = default_threads() + 1  # every full-size decode thread busy, one more queued
    pngs = [_large_png(i) for i in range(png_count)]
    cost = decode_cost(Image.open(io.BytesIO(pngs[0])))
    assert cost > 16_000_000 // LanedPixelBudget.SMALL_SHARE, "the PNG must need the large lane"

    with serve(settings) as url:
        budget = decode_pixel_budget()
        assert isinstance(budget, LanedPixelBudget)
        hold, held, png_statuses = threading.Event(), threading.Event(), []

        def hold_the_large_lane() -> None:
            with budget.large_lane.reserve(budget.large_lane.capacity):
                held.set()
                hold.wait(60)

        def post_png(data: bytes) -> None:
            response = httpx.post(f"{url}/v1/classify", files={"file": ("big.png", data)}, timeout=60)
            png_statuses.append(response.status_code)

        holder = threading.Thread(target=hold_the_large_lane, daemon=True)
        holder.start()
        assert held.wait(10)
        posters = [threading.Thread(target=post_png, args=(data,), daemon=True) for data in pngs]
        try:
            for poster in posters:
                poster.start()
            threads = default_threads()
            _wait_until(lambda: budget.large_lane.waiting == threads, "the PNGs wait in every pool thread")

            phone = {"file": ("phone.jpg", jpeg("closed"))}
            response = httpx.post(f"{url}/v1/classify", files=phone, timeout=10)
            assert response.status_code == 200, response.text
            assert response.json()["label"] == "closed"
            assert png_statuses == [], "the PNGs cannot have been decoded while the lane is held"
        finally:
            hold.set()
            for poster in posters:
                poster.join(60)
        assert png_statuses == [200] * png_count  # and none of them was lost
