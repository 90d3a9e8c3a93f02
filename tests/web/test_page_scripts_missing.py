"""One of the page's scripts that never arrives (a request dropped on a flaky mobile link, a proxy
answering 404 for it) left a page that looked ready and did nothing: "Loading model…" for ever, a
photo chosen or dropped gone without a word. The early inline script (index.html) says so instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("script", ["app.js", "text.js"])
@pytest.mark.parametrize("how", ["failed", "404"])
def test_a_script_that_did_not_arrive_is_said_with_what_to_do(
    browser: Any, live_server: LiveServer, tmp_path: Path, script: str, how: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    if how == "failed":
        page.route(f"**/static/{script}", lambda route: route.abort("connectionreset"))
    else:
        page.route(f"**/static/{script}", lambda route: route.fulfill(status=404, body="Not found"))
    try:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#error:not([hidden])", timeout=5000)
        assert page.inner_text("#error-title") == "The page did not load completely"
        assert "reload" in page.inner_text("#error-message").lower()
        assert page.get_attribute("#error", "role") == "alert"
        assert page.is_hidden("#placeholder")  # not "No photo classified yet." beside it
        assert page.inner_text("#model-text") == "Page not loaded"  # not "Loading model…" for ever
    finally:
        context.close()
