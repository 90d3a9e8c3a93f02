"""An answer from the server brings the header back at once when it said the model was unavailable,
in real headless Chromium.

The header asks /v1/models again less and less often while the server is away (1, 2, 4, 8 s ... up to
every 30 s). Back, the server answered the photo, and the header beside the answer kept "Model
information unavailable" with its red dot until the next try came round: two contradicting answers on
screen.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

CLOCK_START_MS = 1_800_000_000_000  # the page's clock, paused: 2027-01-15

# How many times the header has said "Model information unavailable" (each refusal writes it anew).
COUNT_REFUSALS = """
window.refusalsShown = 0;
new MutationObserver(records => {
  for (const r of records) {
    if (r.target.id === 'model-text' && r.target.textContent === 'Model information unavailable') {
      window.refusalsShown++;
    }
  }
}).observe(document, { subtree: true, childList: true });
"""


def test_an_answer_brings_the_header_back(browser: Any, live_server: LiveServer) -> None:
    """Staged, not timed: the page's clock is Playwright's and is paused, so the header's next try
    (8 s after the 4th refusal) never comes round; only the answer can bring the header back."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.clock.install(time=CLOCK_START_MS)
        page.clock.pause_at(CLOCK_START_MS + 10)  # from here on, only run_for moves it
        asked: list[str] = []  # "refused" while the server is away, "answered" once it is back
        away = {"yes": True}

        def models(route: Any) -> None:
            asked.append("refused" if away["yes"] else "answered")
            if away["yes"]:
                route.abort("connectionrefused")
            else:
                route.continue_()

        page.route("**/v1/models", models)
        page.add_init_script(COUNT_REFUSALS)
        page.goto(live_server.url + "/")
        page.wait_for_selector("#model-info.down")
        for refused in range(1, 4):  # the header's next tries, 1, 2 and 4 s apart on its clock
            # This refusal is shown, and the wait for the next try set in the same task: run the clock
            # past the longest wait, and the one try waiting comes round (the next is set after it fails).
            page.wait_for_function("n => window.refusalsShown >= n", arg=refused)
            page.clock.run_for(30_000)
        page.wait_for_function("() => window.refusalsShown >= 4")
        assert asked == ["refused"] * 4  # the page now waits 8 s of its clock, which stands still

        away["yes"] = False  # the server is back
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        page.wait_for_selector("#model-info.ready")
        assert asked == ["refused"] * 4 + ["answered"]  # brought back by the answer, not by the next try
        assert page.inner_text("#model-text") == "Model bottle-status · test-1"
        assert not page.eval_on_selector("#model-info", "e => e.classList.contains('down')")
    finally:
        context.close()
