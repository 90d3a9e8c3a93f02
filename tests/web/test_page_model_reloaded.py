"""After the server reloads its model (POST /v1/models/reload, a new version promoted), the page's
header follows the model that answers, in real headless Chromium.

The header was read once, at page load: an open page kept saying "Model bottle-status · test-1" above
answers from test-2 (their own line said "bottle-status test-2"), so a person could not tell which
model had answered, nor that the one named at the top was gone.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, photo_jpeg, read_result, upload

from capsight.settings import Settings
from live_app import serve
from model_factory import LABEL_COLOURS, build_colour_model

pytestmark = pytest.mark.browser


@pytest.fixture()
def reloadable(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = build_colour_model(tmp_path / "model", version="test-1")
    settings = Settings(model_dir=folder, data_dir=tmp_path / "var", intra_op_threads=1)
    with serve(settings) as url:
        yield url, folder


def test_the_header_follows_a_reloaded_model(browser: Any, reloadable: tuple[str, Path]) -> None:
    url, folder = reloadable
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(url + "/")
        page.wait_for_function("() => document.getElementById('model-text').textContent.includes('test-1')")

        build_colour_model(folder, version="test-2")
        reload = urllib.request.Request(url + "/v1/models/reload", method="POST")
        with urllib.request.urlopen(reload) as answer:
            assert answer.status == 200

        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        assert "bottle-status test-2" in page.inner_text("#result-meta")
        page.wait_for_function(
            "() => document.getElementById('model-text').textContent === 'Model bottle-status · test-2'"
        )
    finally:
        context.close()
