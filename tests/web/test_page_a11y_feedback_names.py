"""What a screen reader says for the "Is this right?" buttons, tabbing from one to the next."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_each_correction_button_says_it_is_a_correction(page: Any) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    group = page.get_by_role("group", name="Is this right?")
    assert group.get_by_role("button", name="Yes", exact=True).is_visible()
    for label in ("closed", "background"):
        button = group.get_by_role("button", name=f"No, it is {label}", exact=True)
        assert button.inner_text() == label  # the visible text is part of the name
