"""Uptime and link checkers probe the page with HEAD: the same status and headers as GET, no body."""

from __future__ import annotations

import httpx
from web_support import LiveServer


def test_head_on_the_page_answers_like_get(live_server: LiveServer) -> None:
    got = httpx.get(live_server.url + "/")
    head = httpx.head(live_server.url + "/")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-security-policy", "content-length", "etag"):
        assert head.headers[name] == got.headers[name], name
