"""An answer from the server brings the header back at once when it said the model was unavailable,
in real headless Chromium.

The header asks /v1/models again less and less often while the server is away (1, 2, 4, 8 s ... up to
every 30 s). Back, the server answered the photo, and the header beside the answer kept "Model
information unavailable" with its red dot until the next try came round: two contradicting answers on
screen.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_an_answer_brings_the_header_back(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        refused: list[float] = []
        away = {"yes": True}

        def models(route: Any) -> None:
            if away["yes"]:
                refused.append(time.monotonic())
                route.abort("connectionrefused")
            else:
                route.continue_()

        page.route("**/v1/models", models)
        page.goto(live_server.url + "/")
        page.wait_for_selector("#model-info.down")
        deadline = time.monotonic() + 20
        while len(refused) < 4 and time.monotonic() < deadline:  # the page now waits 8 s to ask again
            page.wait_for_timeout(100)
        assert len(refused) == 4

        away["yes"] = False  # the server is back
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        page.wait_for_selector("#model-info.ready", timeout=3_000)
        assert time.monotonic() - refused[-1] < 7.5  # brought back by the answer, not by the next try
        assert page.inner_text("#model-text") == "Model bottle-status · test-1"
        assert not page.eval_on_selector("#model-info", "e => e.classList.contains('down')")
    finally:
        context.close()
