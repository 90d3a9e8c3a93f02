"""The model line in the header asks v1/models when the page opens, and asks again after a failure.
A request the server never answered (a server still starting behind a proxy that holds the
connection) left "Loading model…" for ever and was never asked again."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_a_stalled_model_request_is_given_up_and_asked_again(page: Any) -> None:
    page.clock.install()
    page.route("**/v1/models", lambda route: None)  # neither fulfilled nor continued
    with page.expect_request("**/v1/models"):
        page.reload()
    page.wait_for_selector("#model-text")
    assert page.inner_text("#model-text") == "Loading model…"
    page.clock.fast_forward(61_000)
    page.wait_for_selector("#model-info.down")
    assert page.inner_text("#model-text") == "Model information unavailable"
    page.unroute("**/v1/models")
    with page.expect_request("**/v1/models"):
        page.clock.fast_forward(1_000)  # the first retry's delay
    page.wait_for_selector("#model-info.ready")
    assert page.inner_text("#model-text").startswith("Model ")
