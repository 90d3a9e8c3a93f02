"""Fixtures for the browser tests: the real app on a loopback port and one headless Chromium.

Chromium is the Debian build at /usr/bin/chromium driven by Playwright (never ``playwright install``:
nothing is downloaded). Starting it costs seconds on a small machine, so one browser serves a whole
module and each test gets a fresh, cheap browser context.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, SERVER_MAX_UPLOAD_BYTES, LiveServer

from capsight.settings import Settings
from live_app import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Live servers being stopped on a thread, and what stopping them raised: see _stopped_at_module_end.
_STOPPING: list[tuple[threading.Thread, list[BaseException]]] = []


@contextlib.contextmanager
def _serve_stopped_in_background(settings: Settings) -> Iterator[str]:
    """``serve(settings)``, stopped on a thread: uvicorn's stop is some 0.3 s of waiting (its 0.1 s
    tick, a fixed 0.1 s for open connections, the app's shutdown) that the module's browser can spend
    closing meanwhile. _stopped_at_module_end waits for it before the next module starts."""
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve(settings))
    try:
        yield url
    finally:
        errors: list[BaseException] = []

        def stop() -> None:
            try:
                stack.close()
            except BaseException as exc:  # raised again in the main thread
                errors.append(exc)

        thread = threading.Thread(target=stop, name="live-server-stop", daemon=True)
        thread.start()
        _STOPPING.append((thread, errors))


@pytest.fixture(scope="module", autouse=True)
def _stopped_at_module_end() -> Iterator[None]:
    """Set up before a module's other fixtures, so torn down after them: every live server the module
    started has stopped (or its error is raised) before the next module begins."""
    yield
    stopping = _STOPPING[:]
    _STOPPING.clear()
    for thread, _ in stopping:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread, _ in stopping), "a live server did not stop within 30 s"
    for _, errors in stopping:
        if errors:
            raise errors[0]


@pytest.fixture(scope="module")
def live_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-data"),
        max_upload_bytes=SERVER_MAX_UPLOAD_BYTES,
        intra_op_threads=1,
    )
    with _serve_stopped_in_background(settings) as url:
        yield LiveServer(url=url, settings=settings)


@pytest.fixture(scope="module")
def auth_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with API keys required, and one valid key made in its real key store."""
    from capsight.store.services import build_services

    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-auth-data"),
        auth_enabled=True,
        intra_op_threads=1,
    )
    services = build_services(settings)
    try:
        assert services.keys is not None
        _, key = services.keys.create_key("web-test")
    finally:
        services.close()
    with _serve_stopped_in_background(settings) as url:
        yield LiveServer(url=url, settings=settings, api_key=key)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    # A standing listener turns on file-chooser interception now, so a chooser the page opens later is
    # never missed by an expect_file_chooser() that races the key press that opens it.
    page.on("filechooser", lambda chooser: None)
    page.goto(live_server.url + "/")
    try:
        yield page
    finally:
        context.close()
