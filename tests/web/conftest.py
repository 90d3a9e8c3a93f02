"""Fixtures for the browser tests: the real app on a loopback port and one headless Chromium.

Chromium is the Debian build at /usr/bin/chromium driven by Playwright (never ``playwright install``:
nothing is downloaded). Starting it costs seconds on a small machine, so one browser serves a whole
module and each test gets a fresh, cheap browser context.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import (
    RESULT_TIMEOUT_MS,
    SERVER_MAX_UPLOAD_BYTES,
    LiveServer,
    serve_stopped_later,
    wait_for_stopped_servers,
)

from capsight.settings import Settings

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


@pytest.fixture(scope="module", autouse=True)
def _stopped_at_module_end() -> Iterator[None]:
    """Set up before a module's other fixtures, so torn down after them: every live server the module
    left stopping on a thread (serve_stopped_later) has stopped, or its error is raised, before the
    next module begins."""
    yield
    wait_for_stopped_servers()


@pytest.fixture(scope="module")
def live_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-data"),
        max_upload_bytes=SERVER_MAX_UPLOAD_BYTES,
        intra_op_threads=1,
    )
    with serve_stopped_later(settings) as url:
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
    with serve_stopped_later(settings) as url:
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
