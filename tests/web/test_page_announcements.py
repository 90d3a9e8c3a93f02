"""What a screen reader hears from the upload page's live regions, in real headless Chromium.

The result's summary left out the low-confidence note sighted users see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import read_result, upload

pytestmark = pytest.mark.browser


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
