"""A large photo on a slow uplink: the page says how much of it is sent, not just "Classifying…"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from web_support import LiveServer, noisy_png, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

RECORD_BUSY_TEXT = """() => {
  window.busyTexts = [];
  const busy = document.getElementById('busy');
  new MutationObserver(() => window.busyTexts.push(busy.textContent.trim()))
    .observe(busy, { subtree: true, childList: true, characterData: true });
}"""


def test_upload_progress_is_shown_while_a_large_photo_is_sent(page: Any) -> None:
    # About 170 KB: three or so progress events (Chromium reports an upload in chunks of some 64 KB)
    # in a third of a second at the throttled rate below.
    data = noisy_png((240, 240))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 500_000},
    )
    page.evaluate(RECORD_BUSY_TEXT)
    upload(page, "big.png", "image/png", data)
    read_result(page)
    texts = page.evaluate("() => window.busyTexts")
    percents = [int(t.split()[-1].rstrip("%")) for t in texts if t.startswith("Sending photo")]
    assert any(0 < p < 100 for p in percents), texts
    assert percents == sorted(percents)
    assert page.is_hidden("#busy")


def test_a_page_cached_from_an_older_version_still_classifies(page: Any, live_server: LiveServer) -> None:
    """The page's HTML and its script are cached apart: a browser may pair this script with the page
    of the version before, whose busy text had no id (the script threw on every upload)."""
    html = httpx.get(live_server.url + "/").text.replace(' id="busy-text"', "")
    page.route(live_server.url + "/", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(live_server.url + "/")
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    assert page.is_hidden("#busy")
