"""Which limit a 408 names is decided when the wait starts, not by reading the clock afterwards.

uvloop (uvicorn's loop when installed) rounds timers to whole milliseconds, so a wait that ends at the
whole-body deadline can wake a hair before it. Reading the clock then said "not overdue" and the
answer blamed a 30 s stall that never happened (seen in the upload page's browser tests). Here the
clock is frozen, which is the same as a timer that fires early.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from capsight.api import body_timeout
from capsight.api.body_timeout import BodyTimeoutMiddleware


async def _reads_body(scope: Any, receive: Any, send: Any) -> None:
    await receive()


async def _never() -> Any:
    await asyncio.sleep(3600)


def _answer(middleware: BodyTimeoutMiddleware) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/classify", "headers": []}
    asyncio.run(middleware(scope, _never, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body)


@pytest.mark.parametrize(
    ("idle", "total", "error"),
    [
        # A timer that fires a hair early at the total deadline still names the total limit.
        (30.0, 0.01, "The request body did not arrive within 0.01 s."),
        # A stall shorter than the remaining total names the idle limit.
        (0.01, 300.0, "The request body stalled: nothing arrived for 0.01 s."),
    ],
)
def test_the_408_names_the_limit_the_wait_ended_at(
    monkeypatch: pytest.MonkeyPatch, idle: float, total: float, error: str
) -> None:
    # The middleware's clock never moves (the event loop's does): only the planned wait decides.
    monkeypatch.setattr(body_timeout, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    middleware = BodyTimeoutMiddleware(_reads_body, idle_seconds=idle, total_for=lambda path: total)
    assert _answer(middleware) == (408, {"error": error})
