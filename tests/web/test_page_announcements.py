"""What a screen reader hears from the upload page's live regions, in real headless Chromium.

An error identical to the one shown (the same empty file chosen twice) left the alert region as it was,
so it need not be announced again; the result's summary left out the low-confidence note sighted
users see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import read_result, upload

pytestmark = pytest.mark.browser

RECORD = """() => {
  window.__texts = [];
  const message = document.getElementById('error-message');
  new MutationObserver(() => window.__texts.push(message.textContent))
    .observe(document.getElementById('error'), {subtree: true, childList: true, characterData: true});
}"""


def test_the_same_error_again_is_announced_again(page: Any) -> None:
    page.clock.install()
    upload(page, "empty.jpg", "image/jpeg", b"")
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert "is empty" in message
    page.evaluate(RECORD)
    upload(page, "empty.jpg", "image/jpeg", b"")
    page.clock.run_for(1_000)
    texts = page.evaluate("() => window.__texts")
    # Emptied, then refilled: the alert region changes, and is read again.
    assert "" in texts and texts[-1] == message
    assert texts.index("") < len(texts) - 1
    assert page.inner_text("#error-message") == message


def test_the_result_summary_includes_the_low_confidence_note(page: Any) -> None:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(
                {"label": "opened", "confidence": 0.526, "probabilities": {"opened": 0.526, "closed": 0.474}}
            ),
        ),
    )
    upload(page, "bottle.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 not decoded here")
    result = read_result(page)
    note = page.inner_text("#result-note")
    assert note.startswith("The model is unsure")
    assert result["status"] == "Result: opened, 52.6% confidence. " + note
