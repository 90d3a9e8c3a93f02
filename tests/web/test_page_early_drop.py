"""A photo dropped on the page before its deferred scripts have run (a slow link: the page is drawn,
app.js still on its way) was left to the browser, which opens a dropped file itself: the page was
replaced by the photo. A small inline script in index.html, allowed by its hash in the page's
Content-Security-Policy, takes every drop from the first byte and hands it to input.js once that runs.

The drop is a real one, through Chromium's drag pipeline (DevTools ``Input.dispatchDragEvent`` with a
file on disk): a drop event dispatched from script is untrusted and has no default action to prevent.
Headless Chromium does not open a dropped file, so what is checked is what decides it: whether the page
accepted the drag (a drop event reaches it only then) and cancelled the drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# Each drop event the page gets, and (once its handlers have run) whether one of them cancelled it.
WATCH_DROPS = """
window.__drops = [];
window.addEventListener('drop', e => {
    const seen = { files: e.dataTransfer ? e.dataTransfer.files.length : 0, cancelled: null };
    window.__drops.push(seen);
    setTimeout(() => { seen.cancelled = e.defaultPrevented; }, 0);
}, true);
"""


# The page drawn with its stylesheet (its deferred scripts still held): where the user sees the zone.
DRAWN = """() => new Promise(done => {
    const styled = () => [...document.styleSheets].some(s => s.href && s.href.endsWith('style.css'));
    const drawn = () => requestAnimationFrame(() => requestAnimationFrame(done));
    const wait = () => styled() ? drawn() : setTimeout(wait, 20);
    wait();
})"""


def _drop_file(page: Any, path: Path, x: int, y: int) -> None:
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(path)], "dragOperationsMask": 0xFFFF}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})


@pytest.mark.parametrize("where", ["#drop-zone", "#result-heading"])
def test_a_photo_dropped_before_the_scripts_have_run_is_kept_and_classified(
    browser: Any, live_server: LiveServer, tmp_path: Path, where: str
) -> None:
    photo = tmp_path / "IMG_0007.jpg"
    photo.write_bytes(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=7))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.add_init_script(WATCH_DROPS)
    held: list[Any] = []
    page.route("**/static/app.js", lambda route: held.append(route))  # the slow link: not here yet
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(live_server.url + "/", wait_until="commit")
        page.wait_for_selector(where)
        page.evaluate(DRAWN)
        assert held, "app.js was not requested"
        box = page.locator(where).bounding_box()
        _drop_file(page, photo, int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2))
        handled = "() => window.__drops.length && window.__drops[0].cancelled !== null"
        page.wait_for_function(handled, timeout=5000)
        assert page.evaluate("window.__drops") == [{"files": 1, "cancelled": True}]
        assert page.url == live_server.url + "/"
        held[0].continue_()
        result = read_result(page)
        assert result["label"] == "closed"
        assert page.inner_text("#file-name").startswith("IMG_0007.jpg")
        assert violations == []
    finally:
        context.close()


@pytest.mark.parametrize("how", ["click", "keyboard"])
def test_choose_photo_works_before_the_scripts_have_run(
    browser: Any, live_server: LiveServer, tmp_path: Path, how: str
) -> None:
    """The "Choose photo" button (or Enter on the zone) did nothing until app.js arrived: it opens the
    chooser, and a photo picked before app.js runs is held for it as a drop is."""
    photo = tmp_path / "IMG_0008.jpg"
    photo.write_bytes(photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=8))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.on("filechooser", lambda chooser: None)  # interception on before the chooser can open
    held: list[Any] = []
    page.route("**/static/app.js", lambda route: held.append(route))
    try:
        page.goto(live_server.url + "/", wait_until="commit")
        page.wait_for_selector("#choose-button")
        page.evaluate(DRAWN)
        assert held, "app.js was not requested"
        with page.expect_file_chooser(timeout=3000) as chooser:
            if how == "click":
                page.click("#choose-button")
            else:
                page.focus("#drop-zone")
                page.keyboard.press("Enter")
        chooser.value.set_files(str(photo))
        page.wait_for_function("() => window.capsightEarlyDrop.files.length === 1")  # held for input.js
        held[0].continue_()
        assert read_result(page)["label"] == "opened"
        assert page.inner_text("#file-name").startswith("IMG_0008.jpg")
    finally:
        context.close()
