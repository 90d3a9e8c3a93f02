"""The file inputs' ``accept`` against the formats the server decodes, in real headless Chromium.

``accept="image/*"`` alone leaves the file picker to the operating system's idea of an image: one
that has no type for .heic, .heif or .avif (Windows without the HEIF extension, many Linux desktops)
greys out or hides the iPhone photo the page says it takes ("JPEG, PNG, HEIC, ... AVIF"). The
inputs now name each suffix the server knows (``IMAGE_SUFFIXES``) and each format's media type
(``SUPPORTED_FORMATS``), beside ``image/*``. The camera input stays ``image/*``: it takes a new
photo, and a list of types there can make a phone offer files instead of its camera.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer

from capsight.imaging.decode import IMAGE_SUFFIXES, SUPPORTED_FORMATS

pytestmark = pytest.mark.browser


def _missing(accept: str | None) -> set[str]:
    """What ``accept`` leaves out of the server's formats: a suffix, or a format's media type."""
    tokens = {token.strip().lower() for token in (accept or "").split(",")}
    wanted = {"image/*", *IMAGE_SUFFIXES}
    for fmt in SUPPORTED_FORMATS:  # the media type and suffix named after the format: image/heif, .heif
        wanted |= {f"image/{fmt.lower()}", f".{fmt.lower()}"}
    return wanted - tokens


def test_the_file_input_accepts_every_format_the_server_decodes(page: Any) -> None:
    assert _missing(page.get_attribute("#file-input", "accept")) == set()
    assert "image/heic" in page.get_attribute("#file-input", "accept")  # what an iPhone's files say
    assert page.get_attribute("#camera-input", "accept") == "image/*"


def test_the_form_without_javascript_accepts_them_too(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        assert _missing(page.get_attribute("noscript form input[type=file]", "accept")) == set()
    finally:
        context.close()
