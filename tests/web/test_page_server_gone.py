"""The server goes away while the page is open (restarted, crashed, the phone out of signal), in real
headless Chromium.

The upload failed with "Could not reach the server", but the header kept its green dot and "Model
bottle-status · test-1", as if the server were there and ready: two answers at once. The header now
says the model is unavailable and keeps asking, and turns back when the server answers again.

The page's clock is Playwright's: the header's next try (1, 2, 4 ... up to 30 s after a refusal) is
brought round with the clock, not waited for in real seconds.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_the_header_follows_the_server_going_away_and_coming_back(page: Any) -> None:
    page.clock.install()
    page.wait_for_selector("#model-info.ready")
    gone = ("**/v1/classify", "**/v1/models")
    for url in gone:
        page.route(url, lambda route: route.abort("connectionrefused"))
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    assert "Could not reach the server" in page.inner_text("#error-message")
    page.wait_for_selector("#model-info.down", timeout=5_000)
    assert page.inner_text("#model-text") == "Model information unavailable"
    assert not page.eval_on_selector("#model-info", "e => e.classList.contains('ready')")

    for url in gone:
        page.unroute(url)
    page.clock.fast_forward(30_000)  # the longest wait between tries: the next one comes round
    page.wait_for_selector("#model-info.ready", timeout=10_000)
    assert page.inner_text("#model-text").startswith("Model ")
    page.click("#retry-button")
    assert read_result(page)["label"] == "opened"
