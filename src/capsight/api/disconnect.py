"""Watching for an HTTP client that hangs up while its images wait for the model.

Why a module of its own: uvicorn does not cancel a handler whose client disconnects, so the service
listens on the request's ASGI ``receive`` itself (see _client_left) and gives a gone client's queue
places back; this is ASGI plumbing, apart from what the service does with an image.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from capsight.errors import ClientClosedRequest

# The request's ASGI ``receive``: after the body has been read it answers only "http.disconnect".
Receive = Callable[[], Awaitable[Mapping[str, Any]]]


def _watch_disconnect(receive: Receive | None) -> asyncio.Task[bool] | None:
    """A task that ends True when the client disconnects (see _client_left); None without ``receive``."""
    return None if receive is None else asyncio.get_running_loop().create_task(_client_left(receive))


async def _client_left(receive: Receive) -> bool:
    """True once ``receive`` says the client disconnected, False when it says something else.

    Why: uvicorn does not cancel a handler whose client hangs up. Its image stayed queued, held
    one of the queue_max places (an overloaded server answered 503 to live clients while its queue
    held images whose clients had timed out and gone) and was scored for nobody."""
    try:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return True
            if message.get("type") != "http.request":  # pragma: no cover - not ASGI HTTP
                return False
    except Exception:  # a server that cannot tell: keep waiting for the model as before
        return False


def _gone_flag(gone: asyncio.Task[bool] | None) -> threading.Event | None:
    """An event set once ``gone`` says the client left, for a decode thread to read (asyncio
    objects are not for other threads); None without a watch."""
    if gone is None:
        return None
    left = threading.Event()
    gone.add_done_callback(lambda task: left.set() if not task.cancelled() and task.result() else None)
    return left


def _raise_if_gone(left: threading.Event | None) -> None:
    """ClientClosedRequest when the client has already gone: called by a decode thread first thing.

    Why: a decode is not cancellable once its thread runs it, but an upload waits for a thread
    behind others' (two per two cores). Eight clients that hung up 0.2 s after sending a
    12-megapixel PNG were each decoded (1.5 s of pool time for nobody) before their 499, and a
    live client's PNG sent just after waited 0.83 s instead of 0.27 s."""
    if left is not None and left.is_set():
        raise ClientClosedRequest()
