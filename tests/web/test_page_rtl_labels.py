"""Labels in a right-to-left script (a model trained on Arabic folder names) keep their own order.

Laid out inside the page's left-to-right text, "زجاجة مفتوحة!" was drawn with its "!" on the right,
after the word it ends, where an Arabic reader finds the start of the label.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from capsight.settings import Settings
from live_app import serve
from model_factory import LABEL_COLOURS, build_colour_model

pytestmark = pytest.mark.browser

ARABIC = "زجاجة مفتوحة!"  # "opened bottle!"; label 0: red photos

# Where the label's first and last characters are drawn inside the element (its text, wherever in it).
ENDS_X = """([sel, label]) => {
  const root = document.querySelector(sel);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([n, text.length]); text += n.data; }
  const at = i => {
    const [node, start] = nodes.filter(([, s]) => s <= i).pop();
    const range = document.createRange();
    range.setStart(node, i - start);
    range.setEnd(node, i - start + 1);
    const r = range.getBoundingClientRect();
    return r.left + r.width / 2;
  };
  const from = text.indexOf(label);
  return [at(from), at(from + label.length - 1)];
}"""


@pytest.fixture(scope="module")
def rtl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    model_dir = build_colour_model(tmp_path_factory.mktemp("rtl-model"), labels=(ARABIC, "closed", "opened"))
    settings = Settings(model_dir=model_dir, data_dir=tmp_path_factory.mktemp("web-rtl"), intra_op_threads=1)
    with serve(settings) as url:
        yield LiveServer(url=url, settings=settings)


def test_an_arabic_label_is_drawn_right_to_left(browser: Any, rtl_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(rtl_server.url + "/")
        upload(page, "red.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["background"], size=(200, 150)))
        assert read_result(page)["label"] == ARABIC
        page.click("#feedback-yes")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Thanks')"
        )
        for where in ["#result-label", f"#probabilities li[data-label='{ARABIC}']", "#feedback-status"]:
            first, last = page.evaluate(ENDS_X, [where, ARABIC])
            assert last < first, where  # the "!" left of the first letter
        # The sentences around a label read as before.
        assert page.inner_text("#feedback-status") == f"Thanks: recorded that this is {ARABIC}."
    finally:
        context.close()
