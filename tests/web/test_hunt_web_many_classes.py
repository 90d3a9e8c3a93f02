"""A model of many classes (an ImageNet-style 1000) on the upload page, in real headless Chromium.

The page drew one bar per class and one correction button per other class: 1000 bars and 999 buttons,
a result card some 75,000 px tall on a phone, "Is this right?" out of reach at its bottom, and a
keyboard user tabbing through 999 buttons to get past it. The likeliest classes are drawn, the rest
summed in one line, and a correction is picked from a list of every class.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from capsight.settings import Settings
from capsight.store.database import Database
from live_app import serve
from model_factory import LABEL_COLOURS, build_colour_model

pytestmark = pytest.mark.browser

CLASSES = 1000
LABELS = tuple(f"class_{i:04d}" for i in range(CLASSES))


@pytest.fixture(scope="module")
def many_class_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Blue votes for every class, less and less down the list: class_0000 is the answer for a blue
    # photo and class_0999 the least likely.
    weight = np.zeros((3, CLASSES), dtype=np.float32)
    weight[2] = np.linspace(12.0, 0.0, CLASSES, dtype=np.float32)
    model_dir = build_colour_model(tmp_path_factory.mktemp("many-model"), labels=LABELS, weight=weight)
    settings = Settings(model_dir=model_dir, data_dir=tmp_path_factory.mktemp("web-many"), intra_op_threads=1)
    with serve(settings) as url:
        yield LiveServer(url=url, settings=settings)


def _feedback_labels(settings: Settings) -> list[str]:
    from capsight.store.models import FeedbackRow

    db = Database(settings.resolved_database_url())
    try:
        with db.session() as session:
            return [row.label for row in session.query(FeedbackRow).order_by(FeedbackRow.id)]
    finally:
        db.dispose()


def test_a_thousand_classes_fit_on_a_phone_and_any_class_can_be_the_correction(
    browser: Any, many_class_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(many_class_server.url + "/")
        upload(page, "blue.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        result = read_result(page)
        assert result["label"] == "class_0000"

        rows = result["rows"]
        assert 3 <= len(rows) <= 10
        assert [row["label"] for row in rows] == list(LABELS[: len(rows)])  # the likeliest, in order
        assert f"{CLASSES} classes" in page.inner_text("#probabilities")  # the rest are not hidden silently

        # "Is this right?" is near the answer, not a thousand bars below it.
        card = page.locator("#result").bounding_box()
        question = page.locator("#feedback").bounding_box()
        assert card is not None and question is not None
        assert question["y"] + question["height"] - card["y"] < 2 * 844
        focusable = page.eval_on_selector_all(
            "#result button, #result select, #result input", "es => es.length"
        )
        assert focusable <= 12
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # The least likely class, drawn nowhere, is still one a person can say the photo shows.
        page.select_option("#feedback-select", "class_0999")
        page.click("#feedback-send")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Thanks')"
        )
        assert (
            page.inner_text("#feedback-status") == "Thanks: recorded that this is class_0999, not class_0000."
        )
        assert _feedback_labels(many_class_server.settings) == ["class_0999"]
    finally:
        context.close()
