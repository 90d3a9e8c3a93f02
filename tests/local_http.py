"""A real HTTP server on a loopback port for tests that need a misbehaving host (a slow download, a
webhook receiver answering 429): Python's ThreadingHTTPServer in a daemon thread, shut down after."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler], **state: Any) -> Iterator[Any]:
    """Serve ``handler`` on 127.0.0.1 (a free port); ``state`` becomes attributes of the server,
    which handlers read as ``self.server.NAME``."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in state.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
