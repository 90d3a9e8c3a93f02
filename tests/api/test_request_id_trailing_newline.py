"""A client's X-Request-ID ending in a line break is replaced, not echoed: the check's ``$`` also
matched before a final newline, so ``abc\\n`` passed as valid and went back out in a header (a
response-splitting shape). HTTP servers refuse such headers today; the check must not rely on it."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from capsight.api.middleware import REQUEST_ID_HEADER, RequestContextMiddleware


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _echoed_id(sent: bytes) -> bytes:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/health/live",
        "headers": [(REQUEST_ID_HEADER.encode(), sent)],
    }
    asyncio.run(RequestContextMiddleware(_ok)(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    return dict(start["headers"])[REQUEST_ID_HEADER.encode()]


def test_an_id_with_a_final_newline_is_replaced() -> None:
    echoed = _echoed_id(b"abc\n")
    assert b"\n" not in echoed and echoed != b"abc"


def test_a_valid_id_is_echoed() -> None:
    assert _echoed_id(b"abc-123") == b"abc-123"
