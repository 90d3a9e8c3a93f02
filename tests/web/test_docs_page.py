"""/docs renders in a real browser with every request outside the server refused (no CDN)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from web_support import LiveServer


@pytest.fixture()
def offline_page(browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, list[str]]]:
    """A page that may only reach the server under test; what it tried elsewhere is listed."""
    own_host = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    context = browser.new_context()

    def route(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    try:
        yield page, elsewhere
    finally:
        context.close()


def test_swagger_ui_renders_the_operations_offline(
    offline_page: tuple[Any, list[str]], live_server: LiveServer
) -> None:
    page, elsewhere = offline_page
    page.goto(live_server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/v1/classify']", timeout=20_000)
    assert page.locator(".opblock").count() >= 10
    assert "Unable to render" not in page.content()
    assert elsewhere == []
