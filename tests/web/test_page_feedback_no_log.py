"""A server that keeps no request log (CAPSIGHT_REQUEST_LOG=false) refuses every feedback with 409:
the page says so once, then stops asking "Is this right?" about every photo."""

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
def unlogged_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-no-log"),
        request_log=False,
        intra_op_threads=1,
    )
    with serve(settings) as url:
        yield LiveServer(url=url, settings=settings)


def test_feedback_is_not_asked_again_once_the_server_refuses_it(
    browser: Any, unlogged_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(unlogged_server.url + "/")
        upload(page, "a.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=1))
        assert read_result(page)["label"] == "closed"
        assert page.is_visible("#feedback")
        page.click("#feedback-yes")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').classList.contains('failed')"
        )
        assert "request log" in page.inner_text("#feedback-status")

        upload(page, "b.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=2))
        page.wait_for_function("() => document.getElementById('result-label').textContent === 'opened'")
        assert read_result(page)["label"] == "opened"
        assert page.is_hidden("#feedback")
    finally:
        context.close()
