"""Colour contrast and focus visibility of the upload page, measured in real headless Chromium.

WCAG AA asks 4.5:1 for text under 18.66 px bold; the confidence pill (15 px bold) and a pressed
"Is this right?" button are read on tinted or accent backgrounds, in light and in dark mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# Contrast of an element's text against what is painted behind it: its own background and those of
# its ancestors, blended over white (translucent tints included, as rgb() or color(srgb ...)).
CONTRAST = """
sel => {
  const parse = c => {
    const n = c.match(/[\\d.]+/g).map(Number);
    if (c.startsWith('color(')) return [n[0] * 255, n[1] * 255, n[2] * 255, n.length > 3 ? n[3] : 1];
    return [n[0], n[1], n[2], n.length > 3 ? n[3] : 1];
  };
  const lum = c => {
    const a = c.slice(0, 3).map(v => v / 255)
      .map(v => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  };
  const el = document.querySelector(sel);
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] === 1) break;
  }
  let base = [255, 255, 255];
  for (let i = layers.length - 1; i >= 0; i--) {
    const c = layers[i];
    base = base.map((v, k) => c[k] * c[3] + v * (1 - c[3]));
  }
  const l1 = lum(parse(getComputedStyle(el).color)), l2 = lum(base);
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}
"""


def _open(browser: Any, live_server: LiveServer, scheme: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(live_server.url + "/")
    return context, page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_confidence_pill_is_readable(browser: Any, live_server: LiveServer, scheme: str) -> None:
    context, page = _open(browser, live_server, scheme)
    try:
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"]))
        read_result(page)
        assert page.evaluate(CONTRAST, "#result-confidence") >= 4.5
        page.eval_on_selector("#result-confidence", "e => e.classList.add('low')")  # an unsure answer
        assert page.evaluate(CONTRAST, "#result-confidence") >= 4.5
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_chosen_feedback_button_is_readable(browser: Any, live_server: LiveServer, scheme: str) -> None:
    context, page = _open(browser, live_server, scheme)
    try:
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"]))
        read_result(page)
        page.click("#feedback-yes")
        page.wait_for_selector("#feedback-yes[aria-pressed='true']")
        page.mouse.move(0, 0)  # not hovered
        assert page.evaluate(CONTRAST, "#feedback-yes") >= 4.5
    finally:
        context.close()
