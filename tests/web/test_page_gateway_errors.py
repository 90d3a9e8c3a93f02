"""A proxy in front of capsight answering 502 or 504 (the app restarting, or gone) is told as the server
being out of reach, not as a fault of the photo, in real headless Chromium.

nginx answers 502 Bad Gateway with its own HTML page while the app behind it restarts. The page headed
that "This photo could not be classified" and said "The server could not classify this photo (HTTP
502)": the photo had never reached the classifier, and the header beside it still said the model was
ready. Now the heading names the server, the message says it is not answering, "Try again" sends the
same photo, and the header asks the server again.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# What nginx sends when its upstream is down (its built-in error page).
NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
)


@pytest.mark.parametrize(("code", "reason"), [(502, "Bad Gateway"), (504, "Gateway Time-out")])
def test_a_gateway_error_names_the_server_and_offers_try_again(page: Any, code: int, reason: str) -> None:
    page.wait_for_selector("#model-info.ready")
    gone = {"yes": True}

    def gateway(route: Any) -> None:
        if gone["yes"]:
            page_text = NGINX_PAGE.format(code=code, reason=reason)
            route.fulfill(status=code, content_type="text/html", body=page_text)
        else:
            route.continue_()

    page.route("**/v1/classify", gateway)
    page.route("**/v1/models", gateway)
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-title") == "The server could not be reached"
    message = page.inner_text("#error-message")
    assert f"HTTP {code}" in message
    assert "photo" not in message, message  # the photo never reached the classifier
    assert page.is_visible("#retry-button")
    page.wait_for_selector("#model-info.down")  # the header no longer says the model is ready

    gone["yes"] = False
    page.click("#retry-button")
    assert read_result(page)["label"] == "opened"
