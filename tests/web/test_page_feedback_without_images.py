"""A server that stores no images (CAPSIGHT_STORE_IMAGES=false) records feedback but answers
``usable_for_training: false`` with a warning: the page said "Thanks: recorded that this is ..."
as for any other server, so a person correcting answers believed it would improve the model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from capsight.settings import Settings
from live_app import serve
from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def imageless_server(
    colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-no-images"),
        store_images=False,
        intra_op_threads=1,
    )
    with serve(settings) as url:
        yield LiveServer(url=url, settings=settings)


def test_the_servers_warning_is_shown_instead_of_thanks(browser: Any, imageless_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(imageless_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        page.click("#feedback-labels button[data-label='closed']")
        page.wait_for_function(
            "() => !['', 'Sending…'].includes(document.getElementById('feedback-status').textContent)"
        )
        shown = page.inner_text("#feedback-status")
        assert not shown.startswith("Thanks"), shown
        assert shown.startswith("Recorded that this is closed, not opened. "), shown
        assert "cannot be used for retraining" in shown, shown  # the server's own words
        # It was recorded: the answer stays marked, and it is not shown as a failure.
        assert page.get_attribute("#feedback-labels button[data-label='closed']", "aria-pressed") == "true"
        assert "failed" not in (page.get_attribute("#feedback-status", "class") or "")
    finally:
        context.close()
